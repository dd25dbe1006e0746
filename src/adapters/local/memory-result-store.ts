import type { ResultRef } from '../../core/task.ts';
import { MissingResultError } from '../../ports/errors.ts';
import type { ResultStore } from '../../ports/result-store.ts';
import { answerRange, checkRange, clampRange } from '../result-reading.ts';

/** Chunk outputs in memory: for tests and small jobs. A ref is the output's position in its job's list. */
export class MemoryResultStore implements ResultStore {
  readonly #results = new Map<string, Uint8Array[]>();

  async put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]> {
    let job = this.#results.get(jobId);
    if (job === undefined) {
      job = [];
      this.#results.set(jobId, job);
    }
    // Copies: the caller may reuse its buffers once this resolves.
    const first = job.push(...outputs.map((output) => new Uint8Array(output))) - outputs.length;
    return outputs.map((_, i) => String(first + i));
  }

  async *read(jobId: string, refs: readonly ResultRef[]): AsyncIterable<Uint8Array> {
    for (const ref of refs) yield this.#output(jobId, ref);
  }

  /** A view of the stored output, no copy; or, given `into`, the bytes copied there. */
  async readRange(
    jobId: string,
    ref: ResultRef,
    offset: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    checkRange(offset, length, into);
    const data = this.#output(jobId, ref);
    const { start, end } = clampRange(data.byteLength, offset, length);
    return answerRange(data.subarray(start, end), into);
  }

  #output(jobId: string, ref: ResultRef): Uint8Array {
    const data = /^\d+$/.test(ref) ? this.#results.get(jobId)?.[Number(ref)] : undefined;
    if (data === undefined) throw new MissingResultError(jobId, ref);
    return data;
  }

  async delete(jobId: string): Promise<void> {
    this.#results.delete(jobId);
  }

  /** In this process: it always answers. */
  async probe(): Promise<void> {}
}
