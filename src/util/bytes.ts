/** Copies the parts one after the other into `target`, from its start; returns the bytes copied. */
export const copyInto = (target: Uint8Array, parts: readonly Uint8Array[]): number => {
  let offset = 0;
  for (const part of parts) {
    target.set(part, offset);
    offset += part.byteLength;
  }
  return offset;
};

/** Into a buffer of its own: a view into Node's shared pool would copy the whole pool across threads. */
export const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const output = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  copyInto(output, parts);
  return output;
};

/** Whether `next` starts in the same buffer right where `last` ends. */
const follows = (last: Uint8Array, next: Uint8Array): boolean =>
  next.buffer === last.buffer && next.byteOffset === last.byteOffset + last.byteLength;

/**
 * Joins small pieces into pieces of at least `size / 2` bytes (the last may be smaller), for fewer writes
 * downstream. Pieces that follow each other in one buffer, as a store's block reads give them, become one
 * view of it, which goes out as it is once it is large enough and the next piece does not follow it;
 * separate buffers are copied together only to reach that size.
 */
export async function* gather(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const runs: Uint8Array[] = [];
  let bytes = 0;
  const take = (): Uint8Array => {
    const piece = runs.length === 1 ? (runs[0] as Uint8Array) : concat(runs);
    runs.length = 0;
    bytes = 0;
    return piece;
  };
  for await (const piece of source) {
    const last = runs.at(-1);
    if (last !== undefined && follows(last, piece)) {
      runs[runs.length - 1] = new Uint8Array(
        last.buffer,
        last.byteOffset,
        last.byteLength + piece.byteLength,
      );
    } else {
      if (bytes >= size / 2) yield take();
      runs.push(piece);
    }
    bytes += piece.byteLength;
    if (bytes >= size) yield take();
  }
  if (bytes > 0) yield take();
}

/**
 * `source` once its first piece has been read: an error before any byte fails this promise, where a
 * caller can still answer it, rather than the stream of an answer already under way.
 */
export const primed = async <T>(source: AsyncIterable<T>): Promise<AsyncIterable<T>> => {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      if (first.done) return;
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    },
  };
};
