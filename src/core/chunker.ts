import { hash } from 'node:crypto';
import { copyInto } from '../util/bytes.ts';
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
  /** In `lines` mode: the line of the job's input the chunk starts on, counted from 1. */
  firstLine?: number;
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
 * character boundary, so that no chunk is ever larger than the chunk size. `buf` holds more than
 * `size` bytes.
 */
export const linesCut = (buf: Uint8Array, size: number): number => {
  const newline = buf.lastIndexOf(NEWLINE, size - 1);
  if (newline >= 0) return newline + 1;
  let cut = size;
  while (cut > 0 && ((buf[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return cut > 0 ? cut : size;
};

/** A buffer of its own: not a view into Node's shared pool, which a worker thread would receive whole. */
const ownBuffer = (bytes: number): Buffer => Buffer.allocUnsafeSlow(bytes);

/** The parts without their first `bytes` bytes, as views. */
const dropFront = (parts: readonly Uint8Array[], bytes: number): Uint8Array[] => {
  let left = bytes;
  let i = 0;
  while (left >= (parts[i] as Uint8Array).byteLength) left -= (parts[i++] as Uint8Array).byteLength;
  return [(parts[i] as Uint8Array).subarray(left), ...parts.slice(i + 1)];
};

/**
 * Cuts a byte stream into pieces of at most `size` bytes without holding more of it than one piece
 * beyond the current input buffer. Concatenating the pieces in order gives back the input exactly.
 * Pieces are views into the input's buffers, not copies: an input must not reuse a buffer it has yielded
 * (Node's streams never do).
 *
 * A piece is cut once more than `size` bytes follow its start, and where it ends depends only on those
 * first `size + 1` bytes. So only a piece that straddles two input buffers is copied, into a buffer of
 * its own and exactly its size; the bytes held from earlier buffers stay views until then, so a stream
 * of small buffers is not copied again at every buffer.
 */
async function* cut(
  input: AsyncIterable<Uint8Array>,
  { size, mode }: ChunkerOptions,
): AsyncGenerator<Uint8Array> {
  assertChunkSize(size);
  const cutAt = mode === ChunkingMode.lines ? linesCut : () => size;
  // The input not yet cut: views, in order, of `heldBytes` bytes in all, never more than `size`.
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  // Where a piece that starts in the held bytes is looked at: their copy, then the next buffer's first bytes.
  const head = ownBuffer(size + 1);
  for await (const buffer of input) {
    let offset = 0;
    while (heldBytes > 0 && heldBytes + buffer.byteLength - offset > size) {
      const filled = copyInto(head, held);
      head.set(buffer.subarray(offset, offset + size + 1 - filled), filled);
      const at = cutAt(head, size);
      const first = held[0] as Uint8Array;
      if (at <= first.byteLength) yield first.subarray(0, at);
      else {
        const piece = ownBuffer(at);
        piece.set(head.subarray(0, at));
        yield piece;
      }
      if (at >= heldBytes) {
        offset += at - heldBytes;
        held = [];
        heldBytes = 0;
      } else {
        held = dropFront(held, at);
        heldBytes -= at;
      }
    }
    if (heldBytes > 0) {
      if (offset < buffer.byteLength) held.push(buffer.subarray(offset));
      heldBytes += buffer.byteLength - offset;
      continue;
    }
    while (buffer.byteLength - offset > size) {
      const window = buffer.subarray(offset);
      const at = cutAt(window, size);
      yield window.subarray(0, at);
      offset += at;
    }
    if (offset < buffer.byteLength) {
      held = [buffer.subarray(offset)];
      heldBytes = buffer.byteLength - offset;
    }
  }
  if (heldBytes === 0) return;
  if (held.length === 1) yield held[0] as Uint8Array;
  else {
    const piece = ownBuffer(heldBytes);
    copyInto(piece, held);
    yield piece;
  }
}

/** How many line ends `data` holds. */
export const countLines = (data: Uint8Array): number => {
  let lines = 0;
  for (let at = data.indexOf(NEWLINE); at >= 0; at = data.indexOf(NEWLINE, at + 1)) lines++;
  return lines;
};

/** Where a chunk stream starts: its first chunk's index and, in `lines` mode, its first line. */
export interface StreamStart {
  index: number;
  line: number;
}

/**
 * Cuts a byte stream into a job's chunks, each with its index, length and SHA-256, and in `lines` mode
 * the line it starts on. Returns the count. Where a chunk ends depends only on the bytes from its start,
 * so an input read again from a chunk's start, with `from` that chunk's index and line, gives the same
 * chunks from there on as one pass would.
 */
export async function* chunkStream(
  input: AsyncIterable<Uint8Array>,
  jobId: string,
  options: ChunkerOptions,
  from: StreamStart = { index: 0, line: 1 },
): AsyncGenerator<Chunk, number> {
  let { index, line } = from;
  const lines = options.mode === ChunkingMode.lines;
  for await (const data of cut(input, options)) {
    const chunk: Chunk = { jobId, index: index++, bytes: data.byteLength, sha256: sha256Hex(data), data };
    if (lines) {
      chunk.firstLine = line;
      line += countLines(data);
    }
    yield chunk;
  }
  return index - from.index;
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
