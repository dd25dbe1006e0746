import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assertChunkSize, type Chunk, type ChunkerOptions, chunkStream } from '../../src/core/chunker.ts';
import { UsageError } from '../../src/core/errors.ts';
import { seededRandom } from '../support/prng.ts';

const KiB = 1024;
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

async function* stream(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

/** Runs the chunker to its end: the chunks and the count it returns. */
const chunk = async (
  pieces: readonly Uint8Array[],
  options: ChunkerOptions,
): Promise<{ chunks: Chunk[]; count: number }> => {
  const generator = chunkStream(stream(pieces), 'job-1', options);
  const chunks: Chunk[] = [];
  for (;;) {
    const next = await generator.next();
    if (next.done) return { chunks, count: next.value };
    chunks.push(next.value);
  }
};

const joined = (chunks: readonly Chunk[]): Buffer => Buffer.concat(chunks.map((c) => c.data));

/** Cuts `data` into pieces of 1 to `max` bytes at random points, as a network stream would. */
const splitRandomly = (data: Uint8Array, random: () => number, max: number): Uint8Array[] => {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < data.byteLength; ) {
    const length = 1 + Math.floor(random() * max);
    pieces.push(data.subarray(at, at + length));
    at += length;
  }
  return pieces;
};

/** Random text of ASCII words, tabs, 2-, 3- and 4-byte characters and newlines, with some long lines. */
const randomText = (random: () => number, bytes: number): Buffer => {
  const alphabet = ['a', 'b', 'z', ' ', '\t', 'é', 'ß', '€', '中', '😀'];
  let text = '';
  while (Buffer.byteLength(text) < bytes) {
    const long = random() < 0.05;
    const length = long ? 1500 + Math.floor(random() * 3000) : Math.floor(random() * 120);
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    text += '\n';
  }
  return utf8(text);
};

describe('chunkStream in lines mode', () => {
  it('cuts only after a newline and never exceeds the chunk size', async () => {
    // Prepare
    const random = seededRandom(1);
    const lines = Array.from({ length: 300 }, (_, i) => `${i}:${'x'.repeat(Math.floor(random() * 200))}\n`);
    const input = utf8(lines.join(''));

    // Act
    const { chunks } = await chunk([input], { mode: 'lines', size: KiB });

    // Assess
    expect(chunks.length).toBeGreaterThan(1);
    for (const [i, c] of chunks.entries()) {
      expect(c.bytes).toBeLessThanOrEqual(KiB);
      expect(c.data.at(-1)).toBe(0x0a);
      const next = chunks[i + 1];
      if (next === undefined) continue;
      // Greedy: the next chunk's first line would not have fit into this one.
      const nextLine = next.data.indexOf(0x0a) + 1;
      expect(c.bytes + nextLine).toBeGreaterThan(KiB);
    }
    expect(joined(chunks)).toEqual(input);
  });

  it('keeps a chunk that ends with a newline exactly at the chunk size whole', async () => {
    // Prepare
    const exact = `${'a'.repeat(KiB - 1)}\n`;
    const input = utf8(`${exact}b\n`);

    // Act
    const { chunks } = await chunk([input], { mode: 'lines', size: KiB });

    // Assess
    expect(chunks.map((c) => c.bytes)).toEqual([KiB, 2]);
    expect(Buffer.from(chunks[0]?.data ?? []).toString()).toBe(exact);
  });

  it('yields an input of exactly the chunk size as one chunk', async () => {
    // Prepare
    const input = utf8('a'.repeat(KiB));

    // Act
    const { chunks, count } = await chunk([input], { mode: 'lines', size: KiB });

    // Assess
    expect(count).toBe(1);
    expect(chunks[0]?.bytes).toBe(KiB);
  });

  it('gives the same chunks for an input split into many small pieces as for one piece', async () => {
    // Prepare
    const random = seededRandom(2);
    const input = randomText(random, 20 * KiB);
    const pieces = splitRandomly(input, random, 37);

    // Act
    const whole = await chunk([input], { mode: 'lines', size: 2 * KiB });
    const split = await chunk(pieces, { mode: 'lines', size: 2 * KiB });

    // Assess
    expect(pieces.length).toBeGreaterThan(100);
    expect(split.count).toBe(whole.count);
    expect(split.chunks).toEqual(whole.chunks);
  });

  it.each([
    { char: 'é', lead: 'a'.repeat(KiB - 1), expected: KiB - 1 },
    { char: '€', lead: 'a'.repeat(KiB - 2), expected: KiB - 2 },
    { char: '😀', lead: 'a'.repeat(KiB - 1), expected: KiB - 1 },
    { char: '😀', lead: 'a'.repeat(KiB - 3), expected: KiB - 3 },
  ])(
    'cuts a line longer than the chunk size before a $char that straddles the cut',
    async ({ char, lead, expected }) => {
      // Prepare
      const input = utf8(`${lead}${char}${'b'.repeat(100)}\n`);

      // Act
      const { chunks } = await chunk([input], { mode: 'lines', size: KiB });

      // Assess
      expect(chunks[0]?.bytes).toBe(expected);
      expect(strictDecoder.decode(chunks[0]?.data)).toBe(lead);
      expect(strictDecoder.decode(chunks[1]?.data).startsWith(char)).toBe(true);
      expect(joined(chunks)).toEqual(input);
    },
  );

  it('cuts a long line at exactly the chunk size when a character starts there', async () => {
    // Prepare
    const input = utf8(`${'a'.repeat(KiB)}é\n`);

    // Act
    const { chunks } = await chunk([input], { mode: 'lines', size: KiB });

    // Assess
    expect(chunks.map((c) => c.bytes)).toEqual([KiB, 3]);
  });

  it('yields the tail of an input without a final newline as the last chunk', async () => {
    // Prepare
    const input = utf8(`${'a'.repeat(600)}\n${'b'.repeat(600)}\nlast line`);

    // Act
    const { chunks } = await chunk([input], { mode: 'lines', size: KiB });

    // Assess
    expect(chunks).toHaveLength(2);
    expect(Buffer.from(chunks[1]?.data ?? []).toString()).toBe(`${'b'.repeat(600)}\nlast line`);
  });
});

describe('chunkStream in bytes mode', () => {
  it('cuts fixed-size slices whatever the content', async () => {
    // Prepare
    const input = utf8(`${'line\n'.repeat(500)}😀😀`);

    // Act
    const { chunks } = await chunk([input], { mode: 'bytes', size: KiB });

    // Assess
    expect(chunks.map((c) => c.bytes)).toEqual([KiB, KiB, input.byteLength - 2 * KiB]);
    for (const [i, c] of chunks.entries()) {
      expect(Buffer.from(c.data)).toEqual(input.subarray(i * KiB, (i + 1) * KiB));
    }
  });
});

describe('chunkStream on any input', () => {
  it('yields zero chunks and returns 0 for an empty input', async () => {
    // Prepare
    const inputs: Uint8Array[][] = [[], [new Uint8Array(0)], [new Uint8Array(0), new Uint8Array(0)]];

    // Act
    const results = await Promise.all(inputs.map((pieces) => chunk(pieces, { mode: 'lines', size: KiB })));

    // Assess
    for (const { chunks, count } of results) {
      expect(chunks).toEqual([]);
      expect(count).toBe(0);
    }
  });

  it('gives back the input exactly when the chunks are concatenated, for random inputs', async () => {
    for (let seed = 1; seed <= 24; seed++) {
      // Prepare
      const random = seededRandom(seed);
      const input = randomText(random, 1 + Math.floor(random() * 16 * KiB));
      const pieces = splitRandomly(input, random, 1 + Math.floor(random() * 3000));
      const mode = seed % 2 === 0 ? 'lines' : 'bytes';
      const size = KiB + Math.floor(random() * 3 * KiB);

      // Act
      const { chunks, count } = await chunk(pieces, { mode, size });

      // Assess
      expect(joined(chunks), `seed ${seed}`).toEqual(input);
      expect(count).toBe(chunks.length);
      for (const c of chunks) {
        expect(c.bytes).toBeLessThanOrEqual(size);
        // A lines chunk is always whole UTF-8: it never splits a character.
        if (mode === 'lines') expect(() => strictDecoder.decode(c.data), `seed ${seed}`).not.toThrow();
      }
    }
  });

  it('numbers the chunks and records their length and SHA-256', async () => {
    // Prepare
    const input = randomText(seededRandom(3), 5 * KiB);

    // Act
    const { chunks } = await chunk([input], { mode: 'lines', size: KiB });

    // Assess
    for (const [i, c] of chunks.entries()) {
      expect(c.jobId).toBe('job-1');
      expect(c.index).toBe(i);
      expect(c.bytes).toBe(c.data.byteLength);
      expect(c.sha256).toBe(createHash('sha256').update(c.data).digest('hex'));
    }
  });

  it('cuts chunks as views into the input, without copying it', async () => {
    // Prepare
    const input = randomText(seededRandom(4), 6 * KiB);

    // Act
    const { chunks } = await chunk([input], { mode: 'lines', size: KiB });

    // Assess
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.data.buffer).toBe(input.buffer);
  });

  /** The input cut into consecutive pieces of the given lengths, the last piece taking the rest. */
  const splitAt = (data: Uint8Array, lengths: readonly number[]): Uint8Array[] => {
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (let i = 0; at < data.byteLength; i++) {
      const length = lengths[i % lengths.length] as number;
      pieces.push(data.subarray(at, at + length));
      at += length;
    }
    return pieces;
  };

  /** Where each chunk ends in the input. */
  const boundaries = (chunks: readonly Chunk[]): number[] => {
    let end = 0;
    return chunks.map((c) => {
      end += c.bytes;
      return end;
    });
  };

  it.each([
    { mode: 'lines', case: 'pieces much smaller than a chunk', lengths: [1, 7, 100, 333] },
    { mode: 'bytes', case: 'pieces much smaller than a chunk', lengths: [1, 7, 100, 333] },
    {
      mode: 'lines',
      case: 'pieces just under and over a chunk',
      lengths: [KiB - 1, KiB + 1, KiB, 2 * KiB + 1],
    },
    {
      mode: 'bytes',
      case: 'pieces just under and over a chunk',
      lengths: [KiB - 1, KiB + 1, KiB, 2 * KiB + 1],
    },
    {
      mode: 'lines',
      case: 'a leftover longer than the next pieces',
      lengths: [KiB + 900, 50, 3, 60, 5 * KiB],
    },
    {
      mode: 'bytes',
      case: 'a leftover longer than the next pieces',
      lengths: [KiB + 900, 50, 3, 60, 5 * KiB],
    },
    { mode: 'lines', case: 'pieces of many chunks', lengths: [7 * KiB + 13, 16 * KiB, 3 * KiB + 1] },
    { mode: 'bytes', case: 'pieces of many chunks', lengths: [7 * KiB + 13, 16 * KiB, 3 * KiB + 1] },
  ] as const)(
    'cuts chunks that straddle input buffers where one buffer would ($mode, $case)',
    async ({ mode, lengths }) => {
      for (let seed = 1; seed <= 4; seed++) {
        // Prepare
        const random = seededRandom(100 + seed);
        const input = randomText(random, 24 * KiB);
        const size = KiB + Math.floor(random() * KiB);
        const pieces = splitAt(input, lengths);

        // Act
        const whole = await chunk([input], { mode, size });
        const split = await chunk(pieces, { mode, size });

        // Assess
        expect(joined(split.chunks), `seed ${seed}`).toEqual(input);
        expect(boundaries(split.chunks), `seed ${seed}`).toEqual(boundaries(whole.chunks));
        expect(split.chunks.map((c) => c.sha256)).toEqual(whole.chunks.map((c) => c.sha256));
        expect(split.count).toBe(whole.count);
      }
    },
  );

  it('copies only the chunks that straddle input buffers, each into a buffer of its own and of its size', async () => {
    // Prepare
    const input = randomText(seededRandom(7), 64 * KiB);
    const pieces = splitAt(input, [10 * KiB + 17]);

    // Act
    const { chunks } = await chunk(pieces, { mode: 'lines', size: KiB });

    // Assess
    let start = 0;
    let copies = 0;
    for (const c of chunks) {
      const piece = Math.floor(start / (10 * KiB + 17));
      const inOnePiece = Math.floor((start + c.bytes - 1) / (10 * KiB + 17)) === piece;
      if (inOnePiece) expect(c.data.buffer).toBe(input.buffer);
      else {
        copies++;
        expect(c.data.buffer).not.toBe(input.buffer);
        expect(c.data.byteOffset).toBe(0);
        expect(c.data.buffer.byteLength).toBe(c.bytes);
      }
      start += c.bytes;
    }
    expect(copies).toBeGreaterThan(0);
  });

  it.each([
    ['lines', 'lines'],
    ['bytes', 'bytes'],
  ] as const)('in %s mode, cuts the same chunks from any chunk start as one pass does', async (_, mode) => {
    // Prepare
    const random = seededRandom(6);
    const input = randomText(random, 20 * KiB);
    const options: ChunkerOptions = { mode, size: KiB };
    const { chunks: whole } = await chunk(splitRandomly(input, random, 3000), options);

    // Act
    const resumed = await Promise.all(
      whole.map(async (from) => {
        const offset = whole.slice(0, from.index).reduce((sum, c) => sum + c.bytes, 0);
        const rest = splitRandomly(input.subarray(offset), random, 3000);
        const chunks: Chunk[] = [];
        const generator = chunkStream(stream(rest), 'job-1', options, {
          index: from.index,
          line: from.firstLine ?? 1,
        });
        for (let next = await generator.next(); !next.done; next = await generator.next())
          chunks.push(next.value);
        return chunks;
      }),
    );

    // Assess
    const summary = (chunks: readonly Chunk[]) => chunks.map((c) => [c.index, c.bytes, c.sha256]);
    resumed.forEach((chunks, from) => {
      expect(summary(chunks)).toEqual(summary(whole.slice(from)));
    });
  });

  it('refuses a chunk size outside the limits before reading any input', async () => {
    // Prepare
    const generator = chunkStream(stream([utf8('data')]), 'job-1', { mode: 'lines', size: 10 });

    // Act
    const next = generator.next();

    // Assess
    await expect(next).rejects.toBeInstanceOf(UsageError);
  });
});

describe('assertChunkSize', () => {
  it.each([1023, 1048577, 1.5, Number.NaN])('rejects %s with a message naming the range', (size) => {
    // Prepare
    const check = () => assertChunkSize(size);

    // Act & Assess
    expect(check).toThrow(UsageError);
    expect(check).toThrow(/from 1024 to 1048576/);
  });

  it.each([1024, 1048576])('accepts %s', (size) => {
    // Prepare
    const check = () => assertChunkSize(size);

    // Act & Assess
    expect(check).not.toThrow();
  });
});
