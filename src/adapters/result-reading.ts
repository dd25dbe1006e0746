import { FanoutError } from '../core/errors.ts';

export class MissingResultError extends FanoutError {
  constructor(jobId: string, index: number, options?: ErrorOptions) {
    super(`job ${jobId} has no result for chunk ${index}`, options);
    this.name = 'MissingResultError';
  }
}

/** `ResultStore.read` for a store that fetches one output at a time: chunks 0 to count-1, in order. */
export async function* readInOrder(
  get: (index: number) => Promise<Uint8Array | undefined>,
  jobId: string,
  count: number,
): AsyncGenerator<Uint8Array> {
  for (let index = 0; index < count; index++) {
    const data = await get(index);
    if (data === undefined) throw new MissingResultError(jobId, index);
    yield data;
  }
}
