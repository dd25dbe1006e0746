import { setImmediate } from 'node:timers/promises';
import { KiB, MiB } from '../core/constants.ts';
import { LineKeys } from '../core/records/line-keys.ts';
import { compareHeads, type KeyHolder, KeyKind, type SortSpec } from '../core/records/sort.ts';
import type { ResultRef } from '../core/task.ts';
import type { ResultStore } from '../ports/result-store.ts';
import { OrderedHeap } from '../util/ordered-heap.ts';
import { RunReader, type RunSegment } from './run-reader.ts';

/** One chunk's output sorted by `sortRun`: NDJSON, one record a line. */
export interface SortedRun {
  /** The chunk's index: of two equal keys, the run with the lower index goes first. */
  index: number;
  ref: ResultRef;
  /** Bytes of the run. */
  length: number;
}

export interface MergeSortedRunsOptions {
  results: ResultStore;
  jobId: string;
  runs: readonly SortedRun[];
  spec: SortSpec;
  /**
   * What the read windows of all runs hold together, at most (see `mergeWindowBytes`).
   * @default 8 MiB with `scratch`, 64 MiB without
   */
  memoryBytes?: number;
  /** The least window a run is read through, whatever `memoryBytes` is: tests make it small. @default 4 KiB */
  minWindowBytes?: number;
  /**
   * Where a merge of more than `fanIn` runs keeps the runs it merges in levels before the last (see
   * `mergeSortedRuns`), under job ids of its own that it deletes. Without it, all runs are merged at once.
   */
  scratch?: ResultStore;
  /** The most runs one level merges, given `scratch`. @default memoryBytes / 32 KiB, and 2 at least */
  fanIn?: number;
  /**
   * Writes every piece in the same buffer (or a larger one, for a record longer than a piece), for a
   * consumer that is done with a piece when it asks for the next one: the merge then allocates nothing
   * per piece, where pieces of their own, left to the garbage collector, pile up to tens of MiB before a
   * collection frees them (a merge makes little other garbage, so collections are rare). @default false
   */
  reusePieces?: boolean;
}

/** The least window of a run, by default: smaller ones cost a request for too few bytes. */
export const MIN_WINDOW_BYTES = 4 * KiB;
/** The largest window of a run: larger ones save no request worth the memory. */
export const MAX_WINDOW_BYTES = MiB;
/** The window a merge in levels gives each run at least, by default: reads of 16 KiB. */
export const LEVEL_WINDOW_BYTES = 32 * KiB;
/**
 * The windows of a merge in levels: 256 runs a level, so two levels up to 65,536 runs (4 GiB in 64 KiB
 * chunks). `fanout run` starts its merge with about 220 MiB left by its engine, within a 256 MiB target.
 */
export const LEVELED_MEMORY_BYTES = 8 * MiB;
const MEMORY_BYTES = 64 * MiB;
/** About how large the merge's pieces are. */
const PIECE_BYTES = MiB;
/**
 * Records merged between two turns of the event loop. The reads' answers are taken in those turns: a
 * read's promises and requests live until its answer is, and a merge that ran on for a MiB of records
 * kept them past two young collections, into the old generation, 60 MiB of it in a GiB's level.
 */
const TURN_RECORDS = 512;
/** Pieces written to the scratch store and not yet stored, at most. */
const SCRATCH_WRITES = 4;
const NEWLINE = 0x0a;

/**
 * The window each of `runs` runs is read through: `memoryBytes / runs`, within `minWindowBytes` and
 * 1 MiB, and 2 bytes at least (two halves). 64 MiB over 16,384 runs gives the 4 KiB floor; over 1,024
 * runs, 64 KiB.
 */
export const mergeWindowBytes = (
  memoryBytes: number,
  runs: number,
  minWindowBytes = MIN_WINDOW_BYTES,
): number =>
  Math.min(MAX_WINDOW_BYTES, Math.max(2, minWindowBytes, Math.floor(memoryBytes / Math.max(1, runs))));

/**
 * How many runs each level merges into one so that `runs` runs take as few levels of at most `fanIn`
 * as they can, in levels of about the same fan-in: the least g with g^levels >= runs. 16,411 runs by at
 * most 256 take two levels of 129 (128 runs of 129 merged, then those 128).
 */
export const levelFanIn = (runs: number, fanIn: number): number => {
  const most = Math.max(2, fanIn);
  if (runs <= most) return Math.max(1, runs);
  let levels = 1;
  for (let reach = most; reach < runs; reach *= most) levels++;
  let group = Math.max(2, Math.floor(runs ** (1 / levels)));
  while (group ** levels < runs) group++;
  return Math.min(group, most);
};

/** A run as a level merges it: its place in the order of equal keys, and the outputs it lies in. */
interface LevelRun {
  /** Of two equal keys, the run with the lower order goes first. */
  order: number;
  segments: readonly RunSegment[];
}

/** A run's next record and its key, as the heap orders them: one per run, updated in place. */
class Head implements KeyHolder {
  kind: KeyKind = KeyKind.none;
  number = 0.5;
  string = '';
  readonly reader: RunReader;
  order: number;

  constructor(reader: RunReader, order: number) {
    this.reader = reader;
    this.order = order;
  }
}

/**
 * The heads (and their readers) of a merge, kept from one group of runs to the next: made anew for each
 * of a level's groups, they were garbage that outlived the young generation, 20 MiB of it in a GiB's level.
 */
class Heads {
  readonly #heads: Head[] = [];

  /** A head for each of `runs`, reading it from `source` through its window. */
  open(
    source: { results: ResultStore; jobId: string },
    runs: readonly LevelRun[],
    { windows, window }: { windows: Uint8Array; window: number },
  ): Head[] {
    return runs.map((run, place) => {
      const runSource = { ...source, segments: run.segments };
      const own = windows.subarray(place * window, (place + 1) * window);
      let head = this.#heads[place];
      if (head === undefined) {
        head = new Head(new RunReader(runSource, own), run.order);
        this.#heads.push(head);
      } else {
        head.reader.open(runSource, own);
        head.order = run.order;
      }
      return head;
    });
  }
}

/**
 * The records of `runs` merged, as NDJSON in pieces of about 1 MiB, each run read through a window of
 * `window` bytes of `windows`; at most `limit` records. A piece is written in a buffer of `spare` when
 * there is one large enough: a consumer that is done with a piece may give its buffer back there, or,
 * with `reuse`, is done with it when it asks for the next one.
 */
async function* mergeLevel(
  source: { results: ResultStore; jobId: string },
  runs: readonly LevelRun[],
  { keys, desc, pool }: { keys: LineKeys; desc: boolean; pool: Heads },
  windows: { windows: Uint8Array; window: number },
  limit: number,
  spare: Uint8Array[] = [],
  reuse = false,
): AsyncGenerator<Uint8Array> {
  const newPiece = (bytes: number): Uint8Array => {
    const reused = spare.pop();
    return reused !== undefined && reused.byteLength >= bytes ? reused : new Uint8Array(bytes);
  };
  const heap = new OrderedHeap<Head>((a, b) => compareHeads(a, b, desc) || a.order - b.order);
  const heads = pool.open(source, runs, windows);
  try {
    const firsts = await Promise.all(heads.map((head) => head.reader.next()));
    firsts.forEach((has, place) => {
      if (!has) return;
      const head = heads[place] as Head;
      const { bytes, start, end } = head.reader;
      keys.read(bytes, start, end, head);
      heap.push(head);
    });

    let piece = newPiece(PIECE_BYTES);
    let used = 0;
    for (let written = 0; heap.size > 0; ) {
      const head = heap.peek() as Head;
      const reader = head.reader;
      const length = reader.end - reader.start;
      if (used + length + 1 > PIECE_BYTES) {
        if (used > 0) yield piece.subarray(0, used);
        if (reuse) spare.push(piece);
        piece = newPiece(Math.max(PIECE_BYTES, length + 1));
        used = 0;
      }
      // A view per record, garbage that dies young: a loop of byte copies took 3-4 times as long.
      piece.set(reader.bytes.subarray(reader.start, reader.end), used);
      used += length;
      piece[used++] = NEWLINE;
      if (++written >= limit) break;
      if (written % TURN_RECORDS === 0) await setImmediate();
      if (reader.nextNow() || (await reader.next())) {
        keys.read(reader.bytes, reader.start, reader.end, head);
        heap.replaceTop(head);
      } else heap.pop();
    }
    if (used > 0) yield piece.subarray(0, used);
  } finally {
    // The windows go to the next group of runs: no read may land in them after this.
    await Promise.all(heads.map((head) => head.reader.settle()));
  }
}

/**
 * Stores the pieces of one merged run in the scratch store, a few writes in flight, and gives each
 * piece's buffer back to `spare` once stored: a level writes the job's bytes in a few buffers, where
 * buffers of their own, each left to the garbage collector, pile up to tens of MiB before a collection
 * frees them (a merge makes little other garbage, so collections are rare). Returns the run's segments.
 */
const storeRun = async (
  scratch: ResultStore,
  scratchJob: string,
  pieces: AsyncIterable<Uint8Array>,
  spare: Uint8Array[],
): Promise<RunSegment[]> => {
  const writes: Promise<RunSegment>[] = [];
  const segments: RunSegment[] = [];
  for await (const piece of pieces) {
    writes.push(
      scratch.put(scratchJob, [piece]).then(([ref]) => {
        spare.push(new Uint8Array(piece.buffer));
        return { ref: ref as string, length: piece.byteLength };
      }),
    );
    if (writes.length >= SCRATCH_WRITES) segments.push(await (writes.shift() as Promise<RunSegment>));
  }
  for (const write of writes) segments.push(await write);
  return segments;
};

/**
 * The job's records sorted, as NDJSON in pieces of about 1 MiB: a k-way merge of the chunks' sorted
 * runs, each read through a window of `mergeWindowBytes`, half of it read ahead, so memory holds the
 * windows, one head record per run and one piece whatever the job's size. Records keep their bytes;
 * each ends in a newline, which a run's last line is given when it lacks one. Equal keys go in input
 * order: the lower run index first, then the run's place in `runs`, then the run's own order. Keyless
 * records, last in every run, come after every keyed one, in run index order, so in input order. With
 * `spec.limit`, only the first `limit` records come out.
 *
 * The windows are one buffer, allocated once and read into for the whole merge, and a record's key is
 * read from its bytes into its run's head: a record costs no allocation that outlives it (a view to copy
 * it through dies young).
 *
 * Given `scratch`, more than `fanIn` runs are merged in levels, as few as `levelFanIn` allows: runs next
 * to each other in the order of equal keys are merged in groups, each group's records stored in the
 * scratch store as one run, in that order, and those runs are merged in turn. So the windows stay within
 * `memoryBytes` and each read is of 16 KiB or more, whatever the number of runs: 16,411 runs of a GiB
 * take 64 MiB of 4 KiB windows, and 524,288 reads of 2 KiB, when merged at once; in two levels of 129,
 * 8 MiB of 63 KiB windows. Every record is then read, keyed and written once more per level before the
 * last.
 */
export async function* mergeSortedRuns(options: MergeSortedRunsOptions): AsyncGenerator<Uint8Array> {
  const { results, jobId, runs, spec, minWindowBytes, scratch } = options;
  const memoryBytes = options.memoryBytes ?? (scratch ? LEVELED_MEMORY_BYTES : MEMORY_BYTES);
  const fanIn = Math.max(2, options.fanIn ?? Math.floor(memoryBytes / LEVEL_WINDOW_BYTES));
  const limit = spec.limit ?? Number.POSITIVE_INFINITY;
  if (runs.length === 0 || limit <= 0) return;
  let level: LevelRun[] = runs
    .map((run, place) => ({ run, place }))
    .sort((a, b) => a.run.index - b.run.index || a.place - b.place)
    .map(({ run }, order) => ({ order, segments: [{ ref: run.ref, length: run.length }] }));
  const group = scratch === undefined ? level.length : levelFanIn(level.length, fanIn);
  // One buffer for every group's windows. In levels, each group's fit in `memoryBytes` unless the
  // least window makes them larger; a buffer grown later would be a second one until collected.
  const leveled = scratch !== undefined && level.length > group;
  let windows = new Uint8Array(0);
  const windowsFor = (count: number): { windows: Uint8Array; window: number } => {
    const window = mergeWindowBytes(memoryBytes, count, minWindowBytes);
    if (windows.byteLength < count * window) {
      windows = new Uint8Array(Math.max(count * window, leveled ? memoryBytes : 0));
    }
    return { windows, window };
  };
  let source = { results, jobId };
  const scratchJobs: string[] = [];
  const spare: Uint8Array[] = [];
  const merging = { keys: new LineKeys(spec), desc: spec.order === 'desc', pool: new Heads() };
  try {
    while (scratch !== undefined && level.length > group) {
      const scratchJob = `merge-${crypto.randomUUID()}`;
      scratchJobs.push(scratchJob);
      const next: LevelRun[] = [];
      for (let from = 0; from < level.length; from += group) {
        const runsOf = level.slice(from, from + group);
        const pieces = mergeLevel(source, runsOf, merging, windowsFor(runsOf.length), limit, spare);
        next.push({ order: next.length, segments: await storeRun(scratch, scratchJob, pieces, spare) });
      }
      // The level before is merged into this one: its runs are no longer needed.
      if (source.results === scratch) await scratch.delete(source.jobId);
      source = { results: scratch, jobId: scratchJob };
      level = next;
    }
    // Unless the consumer is done with each piece when it asks for the next, each is a buffer of its own.
    const reused = options.reusePieces ? spare : undefined;
    yield* mergeLevel(source, level, merging, windowsFor(level.length), limit, reused, reused !== undefined);
  } finally {
    if (scratch !== undefined) await Promise.all(scratchJobs.map((id) => scratch.delete(id)));
  }
}
