import type { ResultStore } from '../../ports/result-store.ts';
import { readInOrder } from '../result-reading.ts';

/** Chunk outputs in memory: for tests and small jobs. */
export class MemoryResultStore implements ResultStore {
  readonly #results = new Map<string, Map<number, Uint8Array>>();

  async put(jobId: string, index: number, data: Uint8Array): Promise<void> {
    let job = this.#results.get(jobId);
    if (job === undefined) {
      job = new Map();
      this.#results.set(jobId, job);
    }
    job.set(index, data);
  }

  async get(jobId: string, index: number): Promise<Uint8Array | undefined> {
    return this.#results.get(jobId)?.get(index);
  }

  read(jobId: string, count: number): AsyncIterable<Uint8Array> {
    return readInOrder((index) => this.get(jobId, index), jobId, count);
  }

  async delete(jobId: string): Promise<void> {
    this.#results.delete(jobId);
  }
}
