import { describe, expect, it } from 'vitest';
import { gather } from '../../src/util/bytes.ts';

const collect = async (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> => {
  const pieces: Uint8Array[] = [];
  for await (const piece of source) pieces.push(piece);
  return pieces;
};

async function* from(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* pieces;
}

/** `count` views of `length` bytes each, back to back in one buffer filled with 0, 1, 2, ... */
const adjacentViews = (count: number, length: number): Uint8Array[] => {
  const block = Uint8Array.from({ length: count * length }, (_, i) => i % 251);
  return Array.from({ length: count }, (_, i) => block.subarray(i * length, (i + 1) * length));
};

describe('gather', () => {
  it('sends views that follow each other in one buffer as one view of it, without copying', async () => {
    // Prepare
    const views = adjacentViews(8, 100);

    // Act
    const pieces = await collect(gather(from(views), 400));

    // Assess
    expect(pieces.map((piece) => piece.byteLength)).toEqual([400, 400]);
    for (const piece of pieces) expect(piece.buffer).toBe(views[0]?.buffer);
    expect(Buffer.concat(pieces)).toEqual(Buffer.concat(views));
  });

  it('copies separate buffers together into pieces of at least half the size, the last one smaller', async () => {
    // Prepare
    const separate = Array.from({ length: 7 }, (_, i) => new Uint8Array(90).fill(i));

    // Act
    const pieces = await collect(gather(from(separate), 400));

    // Assess
    expect(pieces.map((piece) => piece.byteLength)).toEqual([270, 270, 90]);
    expect(pieces[0]?.buffer).not.toBe(separate[0]?.buffer);
    expect(pieces[2]).toBe(separate[6]);
    expect(Buffer.concat(pieces)).toEqual(Buffer.concat(separate));
  });

  it('sends a run from one buffer as it is once the next piece starts another buffer', async () => {
    // Prepare
    const first = adjacentViews(3, 100);
    const second = adjacentViews(3, 100);

    // Act
    const pieces = await collect(gather(from([...first, ...second]), 400));

    // Assess
    expect(pieces.map((piece) => piece.byteLength)).toEqual([300, 300]);
    expect(pieces[0]?.buffer).toBe(first[0]?.buffer);
    expect(pieces[1]?.buffer).toBe(second[0]?.buffer);
  });
});
