const decoder = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

export const decodeText = (data: Uint8Array): string => decoder.decode(data);
export const encodeText = (text: string): Uint8Array => encoder.encode(text);

/**
 * Applies `fn` to each line of a chunk and keeps the chunk's final newline, if it had one, so that
 * transforming chunks one by one and concatenating them equals transforming the whole input.
 * Returning `undefined` drops the line.
 */
export const mapLines = (data: Uint8Array, fn: (line: string) => string | undefined): Uint8Array => {
  const text = decodeText(data);
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n');
  const kept: string[] = [];
  for (const line of lines) {
    const mapped = fn(line);
    if (mapped !== undefined) kept.push(mapped);
  }
  if (kept.length === 0) return new Uint8Array(0);
  return encodeText(kept.join('\n') + (endsWithNewline ? '\n' : ''));
};
