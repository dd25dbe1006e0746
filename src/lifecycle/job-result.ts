import { TaskState } from '../core/constants.ts';
import type { FanIn } from '../core/pipeline/fan-in.ts';
import { type Calculation, formatResult, PartialMerger } from '../core/records/calculation.ts';
import type { TaskRecord } from '../core/task.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { JobRecord, TaskStore } from '../ports/task-store.ts';
import { gather } from '../util/bytes.ts';
import { mergeSortedRuns } from './sorted-merge.ts';

/** The stores a job's result is read from. */
export interface ResultParts {
  tasks: TaskStore;
  results: ResultStore;
  /** Where a sort of many runs is merged in levels (see `mergeSortedRuns`); without it, in one. */
  scratch?: ResultStore;
}

const PIECE_BYTES = 1 << 20;

export interface ReadResultOptions {
  /**
   * For a reader that is done with a piece when it asks for the next one: a sort's merge may then write
   * every piece in the same buffer (see `mergeSortedRuns`). @default false
   */
  reusePieces?: boolean;
}

const completedTasks = (tasks: TaskStore, jobId: string): Promise<TaskRecord[]> =>
  tasks.listTasks(jobId, TaskState.completed);

/**
 * The reduced result of a calculation: the chunks' partials merged in chunk order (so every runtime, and
 * every reading, gives the same bytes), formatted as the op defines.
 */
export const reduceJob = async (
  { tasks, results }: ResultParts,
  jobId: string,
  calculation: Calculation,
): Promise<Uint8Array> => {
  const completed = await completedTasks(tasks, jobId);
  const merger = new PartialMerger(calculation);
  const decoder = new TextDecoder();
  const refs = completed.map((task) => task.result ?? '');
  // Each partial is merged before the next is read, so the store may read them into the same buffers.
  for await (const output of results.read(jobId, refs, { reuseBuffers: true })) {
    merger.add(JSON.parse(decoder.decode(output)));
  }
  return new TextEncoder().encode(formatResult(calculation, merger.toPartial()));
};

/**
 * Writes a calculation's reduced result once its job has ended, and records where it lies: what the
 * engine does when a job ends and the cloud's stats function when it sees one end. Its time is taken
 * before the partials are read, so a re-run that begins meanwhile leaves it out of date (`isCurrent`).
 */
export const storeCombined = async (
  parts: ResultParts,
  jobId: string,
  fanIn: FanIn | undefined,
): Promise<void> => {
  if (fanIn?.kind !== 'reduce') return;
  const at = Date.now();
  const combined = await reduceJob(parts, jobId, fanIn.calculation);
  const [ref] = await parts.results.put(jobId, [combined]);
  await parts.tasks.setJobResult(jobId, { ref: ref as string, at });
};

/** Whether a job's recorded combined result still holds: none of its chunks has been re-run since. */
const isCurrent = (job: JobRecord | undefined): job is JobRecord & Required<Pick<JobRecord, 'combined'>> =>
  job?.combined !== undefined && job.combined.at >= (job.rerunAt ?? 0);

/**
 * A finished job's result: its completed tasks' outputs in chunk order, in pieces of a MiB or more, from
 * chunk `from` on for a reader that has the outputs before it; or, for a job with a fan-in, its combined
 * result (the reduced value as recorded at its end, or reduced now; the sorted runs merged as read).
 */
export async function* readJobResult(
  parts: ResultParts,
  jobId: string,
  fanIn: FanIn | undefined,
  from = 0,
  { reusePieces = false }: ReadResultOptions = {},
): AsyncGenerator<Uint8Array> {
  const { tasks, results } = parts;
  if (fanIn?.kind === 'reduce') {
    const job = await tasks.getJob(jobId);
    if (isCurrent(job)) yield* results.read(jobId, [job.combined.ref]);
    else yield await reduceJob(parts, jobId, fanIn.calculation);
    return;
  }
  const completed = await completedTasks(tasks, jobId);
  if (fanIn?.kind === 'sort') {
    const runs = completed.map((task) => ({
      index: task.index,
      ref: task.result ?? '',
      length: task.bytesOut ?? 0,
    }));
    yield* mergeSortedRuns({
      results,
      jobId,
      runs,
      spec: fanIn.sort,
      reusePieces,
      ...(parts.scratch && { scratch: parts.scratch }),
    });
    return;
  }
  yield* gather(
    results.read(
      jobId,
      completed.filter((task) => task.index >= from).map((task) => task.result ?? ''),
    ),
    PIECE_BYTES,
  );
}

/** A finished job's rejects: its completed tasks' rejects in chunk order, as NDJSON. */
export async function* readJobRejects(
  { tasks, results }: ResultParts,
  jobId: string,
): AsyncGenerator<Uint8Array> {
  const completed = await completedTasks(tasks, jobId);
  const refs = completed.flatMap((task) => (task.rejects === undefined ? [] : [task.rejects]));
  yield* gather(results.read(jobId, refs), PIECE_BYTES);
}
