import type { ResultRef } from '../core/task.ts';

export interface ReadOptions {
  /** The caller is done with each output when it asks for the next. @default false */
  reuseBuffers?: boolean;
}

/**
 * Where chunk outputs go. Outputs that finish together are stored together (one object, one append), so
 * a batch costs one write however many chunks it holds; each output's ref is recorded on its task.
 */
export interface ResultStore {
  /**
   * Stores `outputs` as one unit and returns a ref for each, in the same order. Once it resolves the
   * store holds none of `outputs`: the caller may write its next bytes into them.
   */
  put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]>;
  /**
   * The outputs behind `refs`, in that order; fails with `MissingResultError` at the first that is gone.
   * With `reuseBuffers`, for a caller that is done with each output when it asks for the next, the store
   * may hand out views of buffers it reads into again: buffers of their own, one per read, pile up until
   * a collection frees them.
   */
  read(jobId: string, refs: readonly ResultRef[], options?: ReadOptions): AsyncIterable<Uint8Array>;
  /**
   * The bytes [offset, offset + length) of the output behind `ref`, clamped to its end (an offset at or
   * past the end gives none): a large output read a window at a time, without holding all of it. Fails
   * with `RangeError` when `offset` or `length` is negative or not a safe integer, and with
   * `MissingResultError` when the output is gone; a range that covers none of an output's bytes may be
   * answered empty without asking the backing whether the output is still there.
   *
   * Given `into`, which must hold at least `length` bytes (a `RangeError` otherwise), the bytes are read
   * into it from its start and the answer is a view of it: a reader of many ranges reuses its buffers
   * rather than have each read allocate one.
   */
  readRange(
    jobId: string,
    ref: ResultRef,
    offset: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array>;
  delete(jobId: string): Promise<void>;
  /** Resolves once the store answers; rejects with why not. Cheap and stores nothing: for a readiness check. */
  probe(): Promise<void>;
}
