import { ChunkArena, MAX_BLOCK } from './arena.ts';

export interface AdmissionOptions {
  /** Chunks accepted and not yet finished, across all jobs, before ingest waits. */
  maxPendingChunks: number;
  /**
   * Bytes of those chunks before ingest waits, so that the bound on memory does not grow with the chunk
   * size, nor the bound on chunks shrink with it.
   */
  maxPendingBytes: number;
}

/**
 * The engine's backpressure: a chunk is admitted into the arena while the engine holds fewer unfinished
 * chunks and bytes than it may and a block is free; otherwise ingest waits until a chunk finishes.
 */
export class Admission {
  readonly arena: ChunkArena;
  readonly #options: AdmissionOptions;
  readonly #waiters: (() => void)[] = [];
  #pending = 0;
  #pendingBytes = 0;
  #stopped = false;

  constructor(options: AdmissionOptions) {
    this.#options = options;
    // Blocks round a chunk up to a power of two, so the pending bytes take at most twice their size, and
    // a chunk over the byte bound still fits once everything before it has ended.
    this.arena = new ChunkArena(2 * options.maxPendingBytes + MAX_BLOCK);
  }

  get pendingChunks(): number {
    return this.#pending;
  }

  /** Waits for room, then copies the chunk into the arena; `undefined` once stopped. */
  async admit(data: Uint8Array): Promise<Uint8Array | undefined> {
    const { maxPendingChunks, maxPendingBytes } = this.#options;
    while (!this.#stopped) {
      const block =
        this.#pending < maxPendingChunks && this.#pendingBytes < maxPendingBytes
          ? this.arena.copyIn(data)
          : undefined;
      if (block !== undefined) {
        this.#pending++;
        this.#pendingBytes += data.byteLength;
        return block;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return undefined;
  }

  /** A chunk has ended for good: its block goes back and the next chunk waiting may come in. */
  release(block: Uint8Array): void {
    this.#pending--;
    this.#pendingBytes -= block.byteLength;
    this.arena.release(block);
    this.#waiters.shift()?.();
  }

  /** Admits nothing more: a chunk waiting for room gets `undefined` once a chunk ends, or at `close`. */
  stop(): void {
    this.#stopped = true;
  }

  /** Stops, and lets go of every chunk still waiting for room. */
  close(): void {
    this.stop();
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}
