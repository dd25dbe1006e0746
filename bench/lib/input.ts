import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { seededRandom } from '../../test/support/prng.ts';

const BLOCK_BYTES = 1 << 20;
const VOCABULARY = 4096;
const MAX_WORD = 10;
const MAX_WORDS_PER_LINE = 14;
const MAX_LINE = MAX_WORDS_PER_LINE * (MAX_WORD + 1);
const A = 0x61;

/** Whole 32-bit numbers from the tests' seeded generator, so that inputs are the same on every run. */
const mulberry32 = (seed: number): (() => number) => {
  const random = seededRandom(seed);
  return () => Math.floor(random() * 2 ** 32);
};

const makeVocabulary = (next: () => number): Uint8Array[] =>
  Array.from({ length: VOCABULARY }, () => {
    const word = new Uint8Array(2 + (next() % (MAX_WORD - 1)));
    for (let i = 0; i < word.length; i++) word[i] = A + (next() % 26);
    return word;
  });

const writeLine = (block: Uint8Array, at: number, words: Uint8Array[], next: () => number): number => {
  const count = 4 + (next() % (MAX_WORDS_PER_LINE - 3));
  let offset = at;
  for (let w = 0; w < count; w++) {
    const word = words[next() % VOCABULARY] as Uint8Array;
    for (let i = 0; i < word.length; i++) block[offset++] = word[i] as number;
    block[offset++] = w === count - 1 ? 0x0a : 0x20;
  }
  return offset;
};

/** Whole lines only, so that every file cut at a block boundary ends on a newline. */
const makeBlock = (words: Uint8Array[], next: () => number): Buffer => {
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  let offset = 0;
  while (offset + MAX_LINE <= BLOCK_BYTES) offset = writeLine(block, offset, words, next);
  return block.subarray(0, offset);
};

const write = async (stream: WriteStream, block: Buffer): Promise<void> => {
  if (!stream.write(block)) await once(stream, 'drain');
};

const close = (stream: WriteStream): Promise<void> =>
  new Promise((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));

export interface InputFile {
  path: string;
  /** Bytes wanted; the file ends at the first block boundary at or past it. */
  target: number;
}

/**
 * Writes every file in one pass of the generator: each is a prefix of the same stream of lines, cut at a
 * block boundary, so the smaller inputs cost no extra generation.
 */
export const generateInputs = async (
  files: readonly InputFile[],
  seed: number,
): Promise<Map<string, number>> => {
  const next = mulberry32(seed);
  const words = makeVocabulary(next);
  const open = files.map((file) => ({ ...file, stream: createWriteStream(file.path), written: 0 }));
  const sizes = new Map<string, number>();
  while (open.length > 0) {
    const block = makeBlock(words, next);
    await Promise.all(open.map((file) => write(file.stream, block)));
    for (const file of open) file.written += block.byteLength;
    for (const file of open.filter((f) => f.written >= f.target)) {
      await close(file.stream);
      sizes.set(file.path, file.written);
      open.splice(open.indexOf(file), 1);
    }
  }
  return sizes;
};
