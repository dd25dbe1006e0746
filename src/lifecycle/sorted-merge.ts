import { KiB, MiB } from '../core/constants.ts';
import { compareKeys, type SortKey, type SortSpec, sortKey } from '../core/records/sort.ts';
import type { ResultRef } from '../core/task.ts';
import type { ResultStore } from '../ports/result-store.ts';
import { OrderedHeap } from '../util/ordered-heap.ts';
import { RunReader } from './run-reader.ts';

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
  /** What the read windows of all runs hold together, at most (see `mergeWindowBytes`). @default 64 MiB */
  memoryBytes?: number;
  /** The least window a run is read through, whatever `memoryBytes` is: tests make it small. @default 4 KiB */
  minWindowBytes?: number;
}

/** The least window of a run, by default: smaller ones cost a request for too few bytes. */
export const MIN_WINDOW_BYTES = 4 * KiB;
/** The largest window of a run: larger ones save no request worth the memory. */
export const MAX_WINDOW_BYTES = MiB;
/** About how large the merge's pieces are. */
const PIECE_BYTES = MiB;
const NEWLINE = 0x0a;

/**
 * The window each of `runs` runs is read through: `memoryBytes / runs`, within `minWindowBytes` and
 * 1 MiB. 64 MiB over 16,384 runs gives the 4 KiB floor; over 1,024 runs, 64 KiB.
 */
export const mergeWindowBytes = (
  memoryBytes: number,
  runs: number,
  minWindowBytes = MIN_WINDOW_BYTES,
): number =>
  Math.min(MAX_WINDOW_BYTES, Math.max(minWindowBytes, Math.floor(memoryBytes / Math.max(1, runs))));

/** A run's next record, as the heap orders it. */
interface Head {
  reader: RunReader;
  line: Uint8Array;
  key: SortKey;
  index: number;
  /** The run's place in `runs`: orders runs of the same index. */
  place: number;
}

/**
 * The job's records sorted, as NDJSON in pieces of about 1 MiB: a k-way merge of the chunks' sorted
 * runs, each read through a window of `mergeWindowBytes` (half of it read ahead), so memory holds the
 * windows, one head record per run and one piece whatever the job's size. Records keep their bytes;
 * each ends in a newline, which a run's last line is given when it lacks one. Equal keys go in input
 * order: the lower run index first, then the run's own order. Keyless records, last in every run,
 * come after every keyed one, in run index order, so in input order. With `spec.limit`, only the
 * first `limit` records come out.
 */
export async function* mergeSortedRuns(options: MergeSortedRunsOptions): AsyncGenerator<Uint8Array> {
  const { results, jobId, runs, spec, memoryBytes = 64 * MiB, minWindowBytes } = options;
  const limit = spec.limit ?? Number.POSITIVE_INFINITY;
  if (runs.length === 0 || limit <= 0) return;
  const window = mergeWindowBytes(memoryBytes, runs.length, minWindowBytes);
  // BOMs stay: a line keyed here must read as the same text the run was sorted by.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const keyOf = (line: Uint8Array): SortKey => sortKey(decoder.decode(line), spec);
  const heap = new OrderedHeap<Head>(
    (a, b) => compareKeys(a.key, b.key, spec.order) || a.index - b.index || a.place - b.place,
  );
  const readers = runs.map(
    (run) => new RunReader({ results, jobId, ref: run.ref, length: run.length }, window),
  );
  const firsts = await Promise.all(readers.map((reader) => reader.next()));
  firsts.forEach((line, place) => {
    if (line === undefined) return;
    const reader = readers[place] as RunReader;
    heap.push({ reader, line, key: keyOf(line), index: (runs[place] as SortedRun).index, place });
  });

  let piece = new Uint8Array(PIECE_BYTES);
  let used = 0;
  for (let written = 0; heap.size > 0; ) {
    const head = heap.peek() as Head;
    const { line } = head;
    if (used + line.byteLength + 1 > PIECE_BYTES) {
      if (used > 0) yield piece.subarray(0, used);
      piece = new Uint8Array(Math.max(PIECE_BYTES, line.byteLength + 1));
      used = 0;
    }
    piece.set(line, used);
    used += line.byteLength;
    piece[used++] = NEWLINE;
    if (++written >= limit) break;
    const next = head.reader.lineNow() ?? (await head.reader.next());
    if (next === undefined) heap.pop();
    else {
      head.line = next;
      head.key = keyOf(next);
      heap.replaceTop(head);
    }
  }
  if (used > 0) yield piece.subarray(0, used);
}
