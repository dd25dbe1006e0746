const MIN_ORDER = 10;
const MAX_ORDER = 20;
/** The smallest block, 1 KiB: the smallest chunk size. */
const MIN_BLOCK = 1 << MIN_ORDER;
/** The largest block, 1 MiB: the largest chunk size. */
export const MAX_BLOCK = 1 << MAX_ORDER;

const orderOf = (length: number): number => Math.max(MIN_ORDER, Math.ceil(Math.log2(Math.max(1, length))));

/**
 * Memory for the chunks the engine holds, allocated once and shared with the worker threads, which read
 * each chunk where it lies. A chunk is copied in when it is read and stays until its task ends, retries
 * included; nothing is packed, moved to a thread and moved back per batch.
 *
 * Why: V8 counts the external memory a heap gained since its last full collection against that heap's
 * old-generation limit. The main thread's heap is small (about 11 MB live, a limit near 20 MB), so a few
 * MB of buffers allocated between two young collections started a full one: with a buffer per read,
 * per batch and per reply, one every ~50 ms (docs/performance.md, "Run G"). Blocks are powers of two
 * from 1 KiB to 1 MiB, split and merged as a buddy allocator does, so chunks of any size come and go in
 * any order.
 */
export class ChunkArena {
  readonly buffer: SharedArrayBuffer;
  readonly #bytes: Uint8Array;
  /** Free blocks by order, by offset. */
  readonly #free: Set<number>[] = [];
  /** Per 1 KiB unit, order + 1 where a free block starts; 0 elsewhere. */
  readonly #freeOrder: Int8Array;
  /** Per 1 KiB unit, order + 1 where a block in use starts; 0 elsewhere. */
  readonly #usedOrder: Int8Array;
  #used = 0;

  /** `capacity` is rounded up to whole MiB, and is at least one. */
  constructor(capacity: number) {
    const size = Math.max(1, Math.ceil(capacity / MAX_BLOCK)) * MAX_BLOCK;
    this.buffer = new SharedArrayBuffer(size);
    this.#bytes = new Uint8Array(this.buffer);
    this.#freeOrder = new Int8Array(size / MIN_BLOCK);
    this.#usedOrder = new Int8Array(size / MIN_BLOCK);
    for (let order = 0; order <= MAX_ORDER; order++) this.#free.push(new Set());
    for (let offset = 0; offset < size; offset += MAX_BLOCK) this.#addFree(offset, MAX_ORDER);
  }

  /** Bytes in blocks in use, their rounding included. */
  get used(): number {
    return this.#used;
  }

  /**
   * A copy of `data` in a block of its own, or `undefined` when no block is free for it now. Throws for
   * data larger than the largest block.
   */
  copyIn(data: Uint8Array): Uint8Array | undefined {
    if (data.byteLength > MAX_BLOCK) {
      throw new RangeError(`a chunk of ${data.byteLength} bytes is larger than the arena's ${MAX_BLOCK}`);
    }
    const order = orderOf(data.byteLength);
    let from = order;
    while (from <= MAX_ORDER && (this.#free[from] as Set<number>).size === 0) from++;
    if (from > MAX_ORDER) return undefined;
    const offset = (this.#free[from] as Set<number>).values().next().value as number;
    this.#removeFree(offset, from);
    // Split down to the size wanted; each upper half stays free.
    for (let half = from - 1; half >= order; half--) this.#addFree(offset + (1 << half), half);
    this.#usedOrder[offset / MIN_BLOCK] = order + 1;
    this.#used += 1 << order;
    const block = this.#bytes.subarray(offset, offset + data.byteLength);
    block.set(data);
    return block;
  }

  /** Gives back the block of a view `copyIn` returned. Throws for anything else. */
  release(block: Uint8Array): void {
    let offset = block.byteOffset;
    let order = block.buffer === this.buffer ? (this.#usedOrder[offset / MIN_BLOCK] ?? 0) - 1 : -1;
    if (order < 0 || offset % MIN_BLOCK !== 0) throw new RangeError('not a block in use in this arena');
    this.#usedOrder[offset / MIN_BLOCK] = 0;
    this.#used -= 1 << order;
    // Merged with its buddy for as long as the buddy is free too.
    for (; order < MAX_ORDER; order++) {
      const buddy = offset ^ (1 << order);
      if (this.#freeOrder[buddy / MIN_BLOCK] !== order + 1) break;
      this.#removeFree(buddy, order);
      offset = Math.min(offset, buddy);
    }
    this.#addFree(offset, order);
  }

  #addFree(offset: number, order: number): void {
    (this.#free[order] as Set<number>).add(offset);
    this.#freeOrder[offset / MIN_BLOCK] = order + 1;
  }

  #removeFree(offset: number, order: number): void {
    (this.#free[order] as Set<number>).delete(offset);
    this.#freeOrder[offset / MIN_BLOCK] = 0;
  }
}
