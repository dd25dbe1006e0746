import type { ResultRef } from '../core/task.ts';

/**
 * Where chunk outputs go. Outputs that finish together are stored together (one object, one append), so
 * a batch costs one write however many chunks it holds; each output's ref is recorded on its task.
 */
export interface ResultStore {
  /** Stores `outputs` as one unit and returns a ref for each, in the same order. */
  put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]>;
  /** The outputs behind `refs`, in that order; fails with `MissingResultError` at the first that is gone. */
  read(jobId: string, refs: readonly ResultRef[]): AsyncIterable<Uint8Array>;
  delete(jobId: string): Promise<void>;
  /** Resolves once the store answers; rejects with why not. Cheap and stores nothing: for a readiness check. */
  probe(): Promise<void>;
}
