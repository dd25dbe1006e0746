/** Where chunk outputs go. Writing an index again replaces it, so a retried write is harmless. */
export interface ResultStore {
  put(jobId: string, index: number, data: Uint8Array): Promise<void>;
  get(jobId: string, index: number): Promise<Uint8Array | undefined>;
  /** The outputs of chunks 0 to count-1, in order; fails if one is missing. */
  read(jobId: string, count: number): AsyncIterable<Uint8Array>;
  delete(jobId: string): Promise<void>;
}
