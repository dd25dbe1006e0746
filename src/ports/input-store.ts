import type { ResultRef } from '../core/task.ts';

/** A job's input as the service keeps it: where it lies (an ingest checkpoint's `source`), and its size. */
export interface StoredInput {
  source: string;
  bytes: number;
}

/**
 * Where the cloud path keeps a job's input: the body a request carried, the objects a client named, and
 * the segments ingest cuts from them, which the processors read their chunks from.
 */
export interface InputStore {
  /** Stores a request's body whole, durably, as the input of `jobId`. */
  storeBody(jobId: string, body: AsyncIterable<Uint8Array>): Promise<StoredInput>;
  /** The input a source URI names; a `UsageError` names one that is not a URI of this store or does not exist. */
  find(source: string): Promise<StoredInput>;
  /** The input at `source` from byte `offset` on (nothing when `offset` is its size). */
  open(source: string, offset: number): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Stores segment number `segment` of a job's chunks as one object named by the job and the number
   * alone, so that writing a segment again replaces it. Returns a ref per chunk, in order.
   */
  putSegment(jobId: string, segment: number, chunks: readonly Uint8Array[]): Promise<ResultRef[]>;
  /** Deletes a body `storeBody` stored, once ingest has read it whole; a source a client named stays. */
  deleteBody(source: string): Promise<void>;
}
