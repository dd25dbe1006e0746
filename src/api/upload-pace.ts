import { UploadTooSlowError } from './errors.ts';

export interface UploadPace {
  /** The lowest average rate an upload may keep once `graceMs` has passed; 0 for none. */
  minBytesPerSecond: number;
  graceMs: number;
}

/**
 * Passes a body through, failing with `UploadTooSlowError` as soon as its average rate since the first
 * call falls below the minimum after the grace. It waits for each piece against a deadline, so a client
 * that sends nothing at all is caught as surely as one that sends a byte now and then.
 */
export async function* paced(
  body: AsyncIterable<Uint8Array>,
  { minBytesPerSecond, graceMs }: UploadPace,
): AsyncGenerator<Uint8Array> {
  if (minBytesPerSecond === 0) {
    yield* body;
    return;
  }
  const started = performance.now();
  const pieces = body[Symbol.asyncIterator]();
  let bytes = 0;
  for (;;) {
    const deadline = started + Math.max(graceMs, (bytes / minBytesPerSecond) * 1000);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, deadline - performance.now()));
    });
    const next = await Promise.race([pieces.next(), late]).finally(() => clearTimeout(timer));
    if (next === 'late') {
      throw new UploadTooSlowError(bytes, (performance.now() - started) / 1000, minBytesPerSecond);
    }
    if (next.done) return;
    bytes += next.value.byteLength;
    yield next.value;
  }
}
