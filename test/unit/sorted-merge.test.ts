import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { KiB, MiB } from '../../src/core/constants.ts';
import { type SortSpec, sortRun } from '../../src/core/records/sort.ts';
import type { ResultRef } from '../../src/core/task.ts';
import { RunReader } from '../../src/lifecycle/run-reader.ts';
import {
  levelFanIn,
  type MergeSortedRunsOptions,
  mergeSortedRuns,
  mergeWindowBytes,
  type SortedRun,
} from '../../src/lifecycle/sorted-merge.ts';
import { MissingResultError } from '../../src/ports/errors.ts';
import { concat } from '../../src/util/bytes.ts';
import { recordLine, referenceSort, sortSpec } from '../support/sort-records.ts';

const JOB = 'job-sort';
const encoder = new TextEncoder();

/** The memory store, keeping the length of every range asked for. */
class RangeCountingStore extends MemoryResultStore {
  readonly asked: number[] = [];

  override readRange(
    jobId: string,
    ref: ResultRef,
    offset: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    this.asked.push(length);
    return super.readRange(jobId, ref, offset, length, into);
  }
}

/** Sorts each chunk of `lines` into a run, as the sort step does, and stores the runs one by one. */
const storeRuns = async (
  results: MemoryResultStore,
  chunks: readonly (readonly string[])[],
  spec: SortSpec,
  { lastNewline = () => true }: { lastNewline?: (index: number) => boolean } = {},
): Promise<SortedRun[]> =>
  Promise.all(
    chunks.map(async (lines, index) => {
      const sorted = sortRun(lines, spec);
      const text = sorted.join('\n') + (sorted.length > 0 && lastNewline(index) ? '\n' : '');
      const data = encoder.encode(text);
      const [ref] = await results.put(JOB, [data]);
      return { index, ref: ref as string, length: data.byteLength };
    }),
  );

/** The memory store as a merge's scratch store: the job ids written, and those deleted. */
class ScratchStore extends MemoryResultStore {
  readonly written = new Set<string>();
  readonly deleted = new Set<string>();

  override put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]> {
    this.written.add(jobId);
    return super.put(jobId, outputs);
  }

  override delete(jobId: string): Promise<void> {
    this.deleted.add(jobId);
    return super.delete(jobId);
  }
}

/** The memory store answering every range in a buffer of its own, as a store that ignores `into` would. */
class IntoIgnoringStore extends MemoryResultStore {
  override async readRange(
    jobId: string,
    ref: ResultRef,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    return (await super.readRange(jobId, ref, offset, length)).slice();
  }
}

const merged = async (options: MergeSortedRunsOptions): Promise<{ text: string; pieces: number[] }> => {
  const pieces: Uint8Array[] = [];
  // Copied before the next is asked for: with reusePieces, the next may be written in the same buffer.
  for await (const piece of mergeSortedRuns(options)) pieces.push(piece.slice());
  return { text: Buffer.from(concat(pieces)).toString('utf8'), pieces: pieces.map((p) => p.byteLength) };
};

const ndjson = (lines: readonly string[]): string => lines.map((line) => `${line}\n`).join('');

/** `lines` cut into chunks at `cuts` (positions, in any order). */
const chunked = (lines: readonly string[], cuts: readonly number[]): string[][] => {
  const at = [...new Set(cuts.map((cut) => cut % (lines.length + 1)))].sort((a, b) => a - b);
  const chunks: string[][] = [];
  let from = 0;
  for (const cut of [...at, lines.length]) {
    chunks.push(lines.slice(from, cut));
    from = cut;
  }
  return chunks;
};

describe('mergeWindowBytes', () => {
  it('shares the memory among the runs within 4 KiB and 1 MiB', () => {
    // Act
    const windows = [
      mergeWindowBytes(64 * MiB, 16_384),
      mergeWindowBytes(64 * MiB, 1_024),
      mergeWindowBytes(64 * MiB, 3),
      mergeWindowBytes(64 * MiB, 100_000),
      mergeWindowBytes(10, 3, 2),
      mergeWindowBytes(64 * MiB, 0),
    ];

    // Assess
    expect(windows).toEqual([4 * KiB, 64 * KiB, MiB, 4 * KiB, 3, MiB]);
  });
});

describe('levelFanIn', () => {
  it('takes as few levels as the fan-in allows, each of about the same fan-in', () => {
    // Act
    const fanIns = [
      levelFanIn(16_411, 256),
      levelFanIn(65_536, 256),
      levelFanIn(65_537, 256),
      levelFanIn(256, 256),
      levelFanIn(3, 2),
      levelFanIn(1, 256),
      levelFanIn(9, 1),
    ];

    // Assess
    expect(fanIns).toEqual([129, 256, 41, 256, 2, 1, 2]);
  });

  it('gives a fan-in whose levels reach every run, and none beyond the most', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 2, max: 1_000 }),
        (runs, most) => {
          // Act
          const group = levelFanIn(runs, most);

          // Assess
          let levels = 1;
          for (let reach = most; reach < runs; reach *= most) levels++;
          expect(group).toBeLessThanOrEqual(most);
          expect(group ** levels).toBeGreaterThanOrEqual(runs);
        },
      ),
    );
  });
});

describe('mergeSortedRuns', () => {
  it('equals a stable sort of the whole input, byte for byte, through windows of any size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordLine, { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom<SortSpec['order']>('asc', 'desc'),
        fc.option(fc.nat(90), { nil: undefined }),
        fc.integer({ min: 1, max: 96 }),
        fc.func(fc.boolean()),
        async (lines, cuts, order, limit, window, lastNewline) => {
          // Prepare
          const spec = sortSpec(order, limit);
          const results = new MemoryResultStore();
          const runs = await storeRuns(results, chunked(lines, cuts), spec, { lastNewline });
          // The runs in any order: their indexes, not their places, break ties.
          runs.reverse();

          // Act
          const { text } = await merged({
            results,
            jobId: JOB,
            runs,
            spec,
            memoryBytes: window * runs.length,
            minWindowBytes: 1,
          });

          // Assess
          expect(text).toBe(ndjson(referenceSort(lines, spec)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('merges in levels through a scratch store as it would at once, and deletes what it kept there', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordLine, { maxLength: 120 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom<SortSpec['order']>('asc', 'desc'),
        fc.option(fc.nat(130), { nil: undefined }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 2, max: 64 }),
        fc.boolean(),
        async (lines, cuts, order, limit, fanIn, window, reusePieces) => {
          // Prepare
          const spec = sortSpec(order, limit);
          const results = new MemoryResultStore();
          const scratch = new ScratchStore();
          const runs = await storeRuns(results, chunked(lines, cuts), spec);
          runs.reverse();

          // Act
          const { text } = await merged({
            results,
            jobId: JOB,
            runs,
            spec,
            scratch,
            fanIn,
            memoryBytes: window * fanIn,
            minWindowBytes: 2,
            reusePieces,
          });

          // Assess
          expect(text).toBe(ndjson(referenceSort(lines, spec)));
          expect([...scratch.deleted].sort()).toEqual([...scratch.written].sort());
          if (runs.length > fanIn && (limit ?? 1) > 0) expect(scratch.written.size).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keeps the order of equal keys across levels: run index, then place, then the run's own order", async () => {
    // Prepare
    const spec = sortSpec('asc');
    const results = new MemoryResultStore();
    const chunks = Array.from({ length: 40 }, (_, index) => [`{"k":{"v":1},"n":${index}}`, `{"n":${index}}`]);
    const runs = await storeRuns(results, chunks, spec);
    const shuffled = [...runs].sort((a, b) => ((a.index * 7919) % 40) - ((b.index * 7919) % 40));

    // Act
    const { text } = await merged({
      results,
      jobId: JOB,
      runs: shuffled,
      spec,
      scratch: new ScratchStore(),
      fanIn: 3,
    });

    // Assess
    const keyed = chunks.map(([line]) => line as string);
    const keyless = chunks.map(([, line]) => line as string);
    expect(text).toBe(ndjson([...keyed, ...keyless]));
  });

  it('writes every piece in one buffer with reusePieces, and each in its own without', async () => {
    // Prepare
    const spec = sortSpec('asc');
    const results = new MemoryResultStore();
    const lines = Array.from({ length: 150_000 }, (_, n) => JSON.stringify({ k: { v: n % 1009 }, n }));
    const runs = await storeRuns(results, chunked(lines, [50_000, 100_000]), spec);
    const buffers = async (reusePieces: boolean): Promise<Set<ArrayBufferLike>> => {
      const seen = new Set<ArrayBufferLike>();
      for await (const piece of mergeSortedRuns({ results, jobId: JOB, runs, spec, reusePieces })) {
        seen.add(piece.buffer);
      }
      return seen;
    };

    // Act
    const reused = await buffers(true);
    const own = await buffers(false);

    // Assess
    expect(reused.size).toBe(1);
    expect(own.size).toBeGreaterThan(2);
  });

  it('stops at a limit in levels with reads in flight, and none lands in the windows afterwards', async () => {
    // Prepare
    const spec = sortSpec('asc', 5);
    const results = new MemoryResultStore();
    const lines = Array.from({ length: 3_000 }, (_, n) => JSON.stringify({ k: { v: (n * 37) % 3_000 } }));
    const runs = await storeRuns(results, chunked(lines, [500, 1_000, 1_500, 2_000, 2_500]), spec);

    // Act
    const { text } = await merged({
      results,
      jobId: JOB,
      runs,
      spec,
      scratch: new ScratchStore(),
      fanIn: 2,
      memoryBytes: 256,
      minWindowBytes: 64,
    });

    // Assess
    expect(text).toBe(ndjson(referenceSort(lines, spec)));
  });

  it('takes ranges from a store that answers in buffers of its own', async () => {
    // Prepare
    const spec = sortSpec('desc');
    const results = new IntoIgnoringStore();
    const lines = Array.from({ length: 500 }, (_, n) => JSON.stringify({ k: { v: `s${n % 97}` }, n }));
    const runs = await storeRuns(results, chunked(lines, [100, 250, 251]), spec);

    // Act
    const { text } = await merged({ results, jobId: JOB, runs, spec, memoryBytes: 400, minWindowBytes: 32 });

    // Assess
    expect(text).toBe(ndjson(referenceSort(lines, spec)));
  });

  it('puts keyless records after every keyed one, in input order, for desc too', async () => {
    // Prepare
    const spec = sortSpec('desc');
    const results = new MemoryResultStore();
    const chunks = [
      ['{"n":1}', '{"k":{"v":1},"n":2}', 'oops'],
      ['{"k":{"v":null},"n":4}', '{"k":{"v":"z"},"n":5}'],
      ['{"n":6}', '{"k":{"v":1},"n":7}'],
    ];
    const runs = await storeRuns(results, chunks, spec);

    // Act
    const { text } = await merged({ results, jobId: JOB, runs, spec });

    // Assess
    expect(text).toBe(
      ndjson([
        '{"k":{"v":"z"},"n":5}',
        '{"k":{"v":1},"n":2}',
        '{"k":{"v":1},"n":7}',
        '{"n":1}',
        'oops',
        '{"k":{"v":null},"n":4}',
        '{"n":6}',
      ]),
    );
  });

  it('orders runs of the same index by their place, and takes runs of no bytes and no runs', async () => {
    // Prepare
    const spec = sortSpec('asc');
    const results = new MemoryResultStore();
    const [a, b] = await storeRuns(results, [['{"k":{"v":1},"n":"a"}'], ['{"k":{"v":1},"n":"b"}']], spec);
    const [empty] = await results.put(JOB, [new Uint8Array(0)]);
    const runs = [
      { ...(b as SortedRun), index: 0 },
      { index: 0, ref: empty as string, length: 0 },
      { ...(a as SortedRun), index: 0 },
    ];

    // Act
    const { text } = await merged({ results, jobId: JOB, runs, spec });
    const none = await merged({ results, jobId: JOB, runs: [], spec });

    // Assess
    expect(text).toBe(ndjson(['{"k":{"v":1},"n":"b"}', '{"k":{"v":1},"n":"a"}']));
    expect(none.text).toBe('');
  });

  it('reads nothing for a limit of 0, and stops reading at the limit', async () => {
    // Prepare
    const results = new RangeCountingStore();
    const lines = Array.from({ length: 2_000 }, (_, n) => JSON.stringify({ k: { v: n } }));
    const runs = await storeRuns(results, [lines], sortSpec('asc'));
    results.asked.length = 0;

    // Act
    const none = await merged({ results, jobId: JOB, runs, spec: sortSpec('asc', 0) });
    const askedForNone = results.asked.length;
    const three = await merged({
      results,
      jobId: JOB,
      runs,
      spec: sortSpec('asc', 3),
      memoryBytes: 64,
      minWindowBytes: 1,
    });

    // Assess
    expect(none.text).toBe('');
    expect(askedForNone).toBe(0);
    expect(three.text).toBe(ndjson(lines.slice(0, 3)));
    expect(results.asked.length).toBeLessThan(10);
  });

  it('reads each run half a window at a time, and a long line in reads that grow', async () => {
    // Prepare
    const results = new RangeCountingStore();
    const spec = sortSpec('asc');
    const short = Array.from({ length: 300 }, (_, n) => JSON.stringify({ k: { v: n } }));
    const long = JSON.stringify({ k: { v: 1e6 }, pad: 'x'.repeat(64 * KiB) });
    const runs = await storeRuns(results, [short, [long]], spec);
    results.asked.length = 0;

    // Act
    const { text } = await merged({ results, jobId: JOB, runs, spec, memoryBytes: 512, minWindowBytes: 64 });

    // Assess
    expect(text).toBe(ndjson([...short, long]));
    const halves = results.asked.filter((length) => length <= 128);
    expect(Math.max(...halves)).toBe(128);
    // 64 KiB in 128-byte reads would take 512; growing reads take about a dozen.
    expect(results.asked.length - halves.length).toBeLessThan(16);
  });

  it('yields pieces of about 1 MiB, not a piece per line', async () => {
    // Prepare
    const results = new MemoryResultStore();
    const spec = sortSpec('asc');
    const lines = Array.from({ length: 100_000 }, (_, n) => JSON.stringify({ k: { v: n % 977 }, n }));
    const chunks = chunked(lines, [30_000, 60_000]);
    const huge = JSON.stringify({ k: { v: 'huge' }, pad: 'y'.repeat(MiB + 10) });
    const runs = await storeRuns(results, [...chunks, [huge]], spec);

    // Act
    const { text, pieces } = await merged({ results, jobId: JOB, runs, spec });

    // Assess
    const expected = ndjson([...referenceSort(lines, spec), huge]);
    // Not toBe: a diff of megabytes would take minutes to print.
    expect(text === expected).toBe(true);
    expect(pieces.length).toBeLessThan(6);
    expect(Math.max(...pieces)).toBe(huge.length + 1);
    for (const size of pieces.slice(0, -2)) expect(size).toBeGreaterThan(MiB - 100);
  });

  it('yields a record longer than a piece whole, in a piece of its own', async () => {
    // Prepare
    const results = new MemoryResultStore();
    const spec = sortSpec('asc');
    const huge = JSON.stringify({ k: { v: 1 }, pad: 'z'.repeat(MiB) });
    const runs = await storeRuns(results, [[huge], ['{"k":{"v":2}}']], spec);

    // Act
    const { text, pieces } = await merged({ results, jobId: JOB, runs, spec });

    // Assess
    expect(text === ndjson([huge, '{"k":{"v":2}}'])).toBe(true);
    expect(pieces).toEqual([huge.length + 1, 14]);
  });

  it('fails with MissingResultError when a run is gone', async () => {
    // Prepare
    const results = new MemoryResultStore();
    const spec = sortSpec('asc');
    const runs = await storeRuns(results, [['{"k":{"v":1}}'], ['{"k":{"v":2}}']], spec);
    await results.delete(JOB);

    // Act
    const merging = merged({ results, jobId: JOB, runs, spec });

    // Assess
    await expect(merging).rejects.toBeInstanceOf(MissingResultError);
  });

  it('fails when a run holds fewer bytes than its length says', async () => {
    // Prepare
    const results = new MemoryResultStore();
    const spec = sortSpec('asc');
    const [run] = await storeRuns(results, [['{"k":{"v":1}}']], spec);
    const runs = [{ ...(run as SortedRun), length: (run as SortedRun).length + 5 }];

    // Act
    const merging = merged({ results, jobId: JOB, runs, spec, minWindowBytes: 1, memoryBytes: 4 });

    // Assess
    await expect(merging).rejects.toThrow(/holds fewer than its 19 bytes/);
  });
});

describe('RunReader', () => {
  const encoder8 = new TextEncoder();

  /** Every line of a run read through `window` bytes, each copied when had. */
  const readLines = async (reader: RunReader): Promise<string[]> => {
    const lines: string[] = [];
    while (reader.nextNow() || (await reader.next())) lines.push(new TextDecoder().decode(reader.line()));
    return lines;
  };

  it('reads a run made of several outputs as one, lines across them included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ maxLength: 12 }).filter((line) => !line.includes('\n')),
          { maxLength: 30 },
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 2, max: 40 }),
        fc.boolean(),
        async (lines, cuts, window, lastNewline) => {
          // Prepare
          const text = lines.join('\n') + (lines.length > 0 && lastNewline ? '\n' : '');
          const bytes = encoder8.encode(text);
          const at = [...new Set(cuts.map((cut) => cut % (bytes.byteLength + 1)))].sort((a, b) => a - b);
          const results = new MemoryResultStore();
          const parts = [...at, bytes.byteLength].map((end, i) =>
            bytes.subarray(i === 0 ? 0 : (at[i - 1] as number), end),
          );
          const refs = await results.put(JOB, parts);
          const segments = parts.map((part, i) => ({ ref: refs[i] as string, length: part.byteLength }));

          // Act
          const read = await readLines(
            new RunReader({ results, jobId: JOB, segments }, new Uint8Array(window)),
          );

          // Assess
          const expected = text === '' ? [] : (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
          expect(read).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails with what a read failed with, and settles once no read is in flight', async () => {
    // Prepare
    const results = new MemoryResultStore();
    const [ref] = await results.put(JOB, [encoder8.encode('a\nb\n')]);
    const reader = new RunReader(
      {
        results,
        jobId: JOB,
        segments: [
          { ref: ref as string, length: 4 },
          { ref: 'gone', length: 3 },
        ],
      },
      new Uint8Array(8),
    );

    // Act
    const reading = readLines(reader);

    // Assess
    await expect(reading).rejects.toBeInstanceOf(MissingResultError);
    await expect(reader.settle()).resolves.toBeUndefined();
  });

  it('refuses a window of fewer than 2 bytes', () => {
    // Act
    const make = () =>
      new RunReader({ results: new MemoryResultStore(), jobId: JOB, segments: [] }, new Uint8Array(1));

    // Assess
    expect(make).toThrow(RangeError);
  });
});
