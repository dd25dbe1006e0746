import { hash } from 'node:crypto';
import { ChunkingMode, LIMITS } from './constants.ts';
import { UsageError } from './errors.ts';

const NEWLINE = 0x0a;

export interface ChunkerOptions {
  /**
   * `lines`: a chunk ends on a line boundary. `bytes`: fixed-size slices, for binary data.
   * @default 'lines'
   */
  mode: ChunkingMode;
  /**
   * The most bytes a chunk holds, from 1 KiB to 1 MiB.
   * @default 65536
   */
  size: number;
}

/** A piece of a job's input, as the chunker cuts it. `total` is set once the input has ended. */
export interface Chunk {
  jobId: string;
  index: number;
  total?: number;
  bytes: number;
  sha256: string;
  data: Uint8Array;
}

export const sha256Hex = (data: Uint8Array): string => hash('sha256', data, 'hex');

export const assertChunkSize = (size: number): void => {
  if (!Number.isInteger(size) || size < LIMITS.minChunkSize || size > LIMITS.maxChunkSize) {
    throw new UsageError(
      `chunk size must be a whole number of bytes from ${LIMITS.minChunkSize} to ${LIMITS.maxChunkSize}, got ${size}`,
    );
  }
};

/**
 * Where a `lines` chunk that starts at 0 in `buf` ends: after the last newline within `size` bytes.
 * A line longer than `size` has no such newline; it is cut at `size`, moved back to a UTF-8
 * character boundary, so that no chunk is ever larger than the chunk size.
 */
const linesCut = (buf: Uint8Array, size: number): number => {
  const newline = buf.lastIndexOf(NEWLINE, size - 1);
  if (newline >= 0) return newline + 1;
  let cut = size;
  while (cut > 0 && ((buf[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return cut > 0 ? cut : size;
};

/**
 * Cuts a byte stream into pieces of at most `size` bytes without holding more of it than one piece
 * beyond the current input buffer. Concatenating the pieces in order gives back the input exactly.
 * Pieces are views into the input's buffers, not copies: an input must not reuse a buffer it has yielded
 * (Node's streams never do).
 */
async function* cut(
  input: AsyncIterable<Uint8Array>,
  { size, mode }: ChunkerOptions,
): AsyncGenerator<Uint8Array> {
  assertChunkSize(size);
  const cutAt = mode === ChunkingMode.lines ? linesCut : () => size;
  let pending: Uint8Array = new Uint8Array(0);
  for await (const piece of input) {
    pending = pending.byteLength === 0 ? piece : Buffer.concat([pending, piece]);
    let offset = 0;
    while (pending.byteLength - offset > size) {
      const window = pending.subarray(offset);
      const at = cutAt(window, size);
      yield window.subarray(0, at);
      offset += at;
    }
    pending = pending.subarray(offset);
  }
  if (pending.byteLength > 0) yield pending;
}

/** Cuts a byte stream into a job's chunks, each with its index, length and SHA-256. Returns the count. */
export async function* chunkStream(
  input: AsyncIterable<Uint8Array>,
  jobId: string,
  options: ChunkerOptions,
): AsyncGenerator<Chunk, number> {
  let index = 0;
  for await (const data of cut(input, options)) {
    yield { jobId, index: index++, bytes: data.byteLength, sha256: sha256Hex(data), data };
  }
  return index;
}

/** How many chunks `chunkStream` would cut from the input, without hashing them. */
export const countChunks = async (
  input: AsyncIterable<Uint8Array>,
  options: ChunkerOptions,
): Promise<number> => {
  let count = 0;
  for await (const _ of cut(input, options)) count++;
  return count;
};
