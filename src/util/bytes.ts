/** Into a buffer of its own: a view into Node's shared pool would copy the whole pool across threads. */
export const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const output = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    output.set(part, offset);
    offset += part.byteLength;
  }
  return output;
};

/** Joins small pieces into pieces of at least `size` bytes (the last may be smaller): fewer writes downstream. */
export async function* gather(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const part of source) {
    parts.push(part);
    bytes += part.byteLength;
    if (bytes >= size) {
      yield concat(parts);
      parts = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield concat(parts);
}
