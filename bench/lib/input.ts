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

/** The kinds of input: lines of words, or NDJSON records (see `ndjsonLine`). */
export type InputKind = 'text' | 'ndjson';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const ID = ascii('{"id":');
const USER = ascii(',"user":"');
const SCORE = ascii('","score":');
const N = ascii(',"n":');
const TEXT = ascii(',"text":"');
const END = ascii('"}\n');
const MAX_RECORD = 128 + (MAX_WORD + 1) * 10;
const [ZERO, MINUS, DOT, SPACE] = [0x30, 0x2d, 0x2e, 0x20];

const put = (block: Uint8Array, at: number, bytes: Uint8Array): number => {
  block.set(bytes, at);
  return at + bytes.byteLength;
};

/** The digits of a whole number of 0 or more, at least `width` of them. */
const putInt = (block: Uint8Array, at: number, value: number, width = 1): number => {
  let digits = 1;
  for (let rest = Math.floor(value / 10); rest > 0; rest = Math.floor(rest / 10)) digits++;
  digits = Math.max(digits, width);
  let rest = value;
  for (let i = digits - 1; i >= 0; i--) {
    block[at + i] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return at + digits;
};

/**
 * One NDJSON record, made of the same vocabulary: an id, a user, a score (a number with three decimals
 * from -10^6 to 10^6, so that a sort by it has few ties), a count below 100, and a text of 2-9 words.
 * About 115 bytes a record.
 */
const writeRecord = (
  block: Uint8Array,
  at: number,
  id: number,
  words: Uint8Array[],
  next: () => number,
): number => {
  const word = () => words[next() % VOCABULARY] as Uint8Array;
  let offset = putInt(block, put(block, at, ID), id);
  offset = put(block, put(block, offset, USER), word());
  offset = put(block, offset, SCORE);
  const milli = (next() % 2_000_000_001) - 1_000_000_000;
  if (milli < 0) block[offset++] = MINUS;
  offset = putInt(block, offset, Math.floor(Math.abs(milli) / 1000));
  block[offset++] = DOT;
  offset = putInt(block, offset, Math.abs(milli) % 1000, 3);
  offset = putInt(block, put(block, offset, N), next() % 100);
  offset = put(block, offset, TEXT);
  const count = 2 + (next() % 8);
  for (let w = 0; w < count; w++) {
    if (w > 0) block[offset++] = SPACE;
    offset = put(block, offset, word());
  }
  return put(block, offset, END);
};

/** Whole records only, as makeBlock, numbered on from `ids.next`. */
const makeNdjsonBlock = (words: Uint8Array[], next: () => number, ids: { next: number }): Buffer => {
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  let offset = 0;
  while (offset + MAX_RECORD <= BLOCK_BYTES) offset = writeRecord(block, offset, ids.next++, words, next);
  return block.subarray(0, offset);
};

/**
 * Writes every file in one pass of the generator: each is a prefix of the same stream of lines (of
 * `kind`), cut at a block boundary, so the smaller inputs cost no extra generation.
 */
export const generateInputs = async (
  files: readonly InputFile[],
  seed: number,
  kind: InputKind = 'text',
): Promise<Map<string, number>> => {
  const next = mulberry32(seed);
  const words = makeVocabulary(next);
  const ids = { next: 1 };
  const makeNext = (): Buffer =>
    kind === 'text' ? makeBlock(words, next) : makeNdjsonBlock(words, next, ids);
  const open = files.map((file) => ({ ...file, stream: createWriteStream(file.path), written: 0 }));
  const sizes = new Map<string, number>();
  while (open.length > 0) {
    const block = makeNext();
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
