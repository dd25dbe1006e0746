import { open } from 'node:fs/promises';

/** The largest chunk: a reader that holds no more than one chunk of earlier blocks holds one block. */
const BLOCK = 1 << 20;
/** The block being read, the one being cut, and the one a chunk being cut may still start in. */
const RING = 3;

/**
 * A file's bytes in blocks of 1 MiB, read into three buffers allocated once and used in turn: a block is
 * overwritten when the third after it is read. Node's read streams allocate a buffer per read instead,
 * and the main thread's heap pays for them in full garbage collections (docs/performance.md, "Run G").
 *
 * Only for a reader that keeps nothing of a block two blocks later: the engine, whose chunker keeps at
 * most one chunk (1 MiB at most) of earlier blocks, and which copies every chunk into its arena before
 * it asks for the next one.
 */
export async function* fileBlocks(path: string): AsyncGenerator<Uint8Array> {
  const file = await open(path);
  try {
    const buffers = Array.from({ length: RING }, () => new Uint8Array(BLOCK));
    for (let turn = 0; ; turn++) {
      const buffer = buffers[turn % RING] as Uint8Array;
      // Filled whole unless the file ends, so that a block is never smaller than a chunk.
      let filled = 0;
      for (let read = -1; read !== 0 && filled < BLOCK; filled += read) {
        ({ bytesRead: read } = await file.read(buffer, filled, BLOCK - filled));
      }
      if (filled === 0) return;
      yield buffer.subarray(0, filled);
    }
  } finally {
    await file.close();
  }
}
