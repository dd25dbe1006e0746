import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultWriter } from '../../src/cli/result-writer.ts';

/** Output of chunk `i`: its index repeated, `length` bytes. */
const outputOf = (i: number, length = 100): Uint8Array => new Uint8Array(length).fill(i);

async function* outputsFrom(outputs: readonly Uint8Array[], from: number): AsyncGenerator<Uint8Array> {
  yield* outputs.slice(from);
}

/** Offers the outputs in `order`, then finishes; returns the chunks `finish` asked the store for from. */
const writeInOrder = async (
  writer: ResultWriter,
  order: readonly number[],
  outputs: readonly Uint8Array[],
): Promise<number[]> => {
  const asked: number[] = [];
  for (const i of order) writer.offer(i, outputs[i] as Uint8Array);
  await writer.finish((from) => {
    asked.push(from);
    return outputsFrom(outputs, from);
  });
  return asked;
};

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-result-writer-'));
});

afterEach(() => rm(dir, { recursive: true, force: true }));

describe('ResultWriter', () => {
  it('writes outputs that arrive out of order, and twice, in chunk order and once each', async () => {
    // Prepare
    const outputs = Array.from({ length: 6 }, (_, i) => outputOf(i));
    const path = join(dir, 'result.bin');
    const writer = await ResultWriter.open(path);

    // Act
    const asked = await writeInOrder(writer, [2, 0, 1, 1, 5, 3, 4, 0], outputs);

    // Assess
    expect(asked).toEqual([6]);
    expect(await readFile(path)).toEqual(Buffer.concat(outputs));
  });

  it('keeps only its place once more than it may hold arrive early, and takes the rest from the store', async () => {
    // Prepare
    const outputs = Array.from({ length: 8 }, (_, i) => outputOf(i, 1000));
    const path = join(dir, 'result.bin');
    const writer = await ResultWriter.open(path, 2500);

    // Act: 0 and 1 are written; 3, 4 and 5 wait for 2 until there are too many of them.
    const asked = await writeInOrder(writer, [0, 1, 3, 4, 5, 2, 6, 7], outputs);

    // Assess
    expect(asked).toEqual([2]);
    expect(await readFile(path)).toEqual(Buffer.concat(outputs));
  });

  it('writes a regular file under another name until it is complete, and leaves it as it was when abandoned', async () => {
    // Prepare
    const path = join(dir, 'result.bin');
    await writeFile(path, 'an earlier result');
    const writer = await ResultWriter.open(path);

    // Act
    writer.offer(0, outputOf(0));
    const whileRunning = await readFile(path, 'utf8');
    await writer.abandon();

    // Assess
    expect(whileRunning).toBe('an earlier result');
    expect(await readFile(path, 'utf8')).toBe('an earlier result');
    expect(await readdir(dir)).toEqual(['result.bin']);
  });
});
