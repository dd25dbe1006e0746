import { DataDirError } from '../adapters/sqlite/errors.ts';
import { UsageError } from '../core/errors.ts';
import { type JobRequest, prepareJob, recordedRequest } from '../core/job.ts';
import type { ResolvedStep, StepRegistry } from '../core/pipeline/registry.ts';
import type { JobRecord, TaskStore } from '../ports/task-store.ts';
import type { KeptState } from './engine-options.ts';
import { type FeedParts, ingest, type RecordedTask, recordedTask } from './job-feed.ts';
import type { JobRun } from './job-run.ts';

/** What of a durable engine `resumeKeptJobs` reaches. */
export interface ResumeParts {
  kept: Pick<KeptState, 'dir' | 'spool' | 'sweep'>;
  tasks: TaskStore;
  registry: StepRegistry;
  feed: FeedParts;
  /** Checks a job's request against the engine as it is now (see `Engine.prepare`); throws `UsageError`. */
  prepare(request: JobRequest): ResolvedStep[];
  /** A run for a recorded job, with its steps as resolved. */
  newRun(record: JobRecord, steps: ResolvedStep[]): JobRun;
  /** Makes a job the engine's (see `Engine.#adopt`); `endedAt` for one that has ended. */
  adopt(job: JobRun, endedAt?: number): void;
  /** Fails a job as a whole, in its run and its record (see `Engine.#fail`): for `reason`, or its input stopped. */
  fail(job: JobRun, reason: string | undefined, error: unknown): Promise<void>;
}

const PAGE = 1000;

/** Why the engine as it is now could not run a recorded job's request, if it could not. */
const problemOf = (parts: ResumeParts, request: JobRequest): string | undefined => {
  try {
    parts.prepare(request);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
};

/**
 * The jobs that have not ended and that this configuration cannot run (a target or a step module it no
 * longer has): the engine refuses to start rather than fail them, since the fix is to start it as it was.
 */
export class JobsCannotRunOnError extends UsageError {
  constructor(problems: readonly string[]) {
    super(
      `the data directory holds ${problems.length} unfinished job(s) this configuration cannot run: ` +
        `${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; ...' : ''}. Start with the ` +
        'targets and steps they ran with, or use another --data-dir (or --memory)',
    );
    this.name = 'JobsCannotRunOnError';
  }
}

/** Every job the store holds, oldest first. */
const allJobs = async (tasks: TaskStore): Promise<JobRecord[]> => {
  const jobs: JobRecord[] = [];
  for (;;) {
    const last = jobs.at(-1);
    const page = await tasks.listJobs({
      limit: PAGE,
      ...(last && { after: { createdAt: last.createdAt, jobId: last.jobId } }),
    });
    jobs.push(...page);
    if (page.length < PAGE) return jobs.reverse();
  }
};

/**
 * Takes up every job an earlier process recorded. Each job's counts come from its task records (see
 * `JobRun.restore`). One that ended is served as it was, and expires its TTL after its end. One that had
 * not ended reads its kept input again: chunks whose task ended are skipped, the others get the try they
 * wait for; a try that was running when the process died is taken over by the claim rule (its lease is
 * released when the store is opened, see `SqliteDataStore.releaseLeases`). A job whose kept input is gone
 * fails as a whole, with why; unfinished jobs the configuration can no longer run (a target or a step
 * module gone) stop the start with `JobsCannotRunOnError`, before anything is written.
 */
export const resumeKeptJobs = async (parts: ResumeParts): Promise<{ jobs: number; running: number }> => {
  try {
    return await takeUp(parts);
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    const why = `its records could not be read (${(cause as Error).message})`;
    const what = `${why}; move it aside to start clean, or use another --data-dir`;
    throw new DataDirError(parts.kept.dir, 'corrupt', what, { cause });
  }
};

/** A request's steps, its targets aside; none when a step module is gone (an ended job needs only its encoding). */
const stepsOf = (registry: StepRegistry, request: JobRequest): ResolvedStep[] => {
  try {
    return prepareJob(registry, request.targets, request);
  } catch {
    return [];
  }
};

const takeUp = async (parts: ResumeParts): Promise<{ jobs: number; running: number }> => {
  const { tasks } = parts;
  const { spool } = parts.kept;
  const ended: JobRun[] = [];
  const running: { job: JobRun; recorded: Map<number, RecordedTask> }[] = [];
  const problems: string[] = [];
  const records = await allJobs(tasks);
  for (const record of records) {
    const request = recordedRequest(record.options);
    const job = parts.newRun(record, stepsOf(parts.registry, request));
    const recorded = await tasks.listTasks(record.jobId);
    job.restore(record, recorded);
    if (job.isFinished || job.failure !== undefined) {
      ended.push(job);
      continue;
    }
    const problem = problemOf(parts, request);
    if (problem !== undefined) problems.push(`job ${record.jobId}: ${problem}`);
    // Only what ingest needs of each task is kept while it runs: not the history of those that ended.
    running.push({ job, recorded: new Map(recorded.map((task) => [task.index, recordedTask(task)])) });
  }
  // Before anything is written: the fix is to start as before, and nothing of these jobs is lost then.
  if (problems.length > 0) throw new JobsCannotRunOnError(problems);
  await parts.kept.sweep(new Set(records.map((record) => record.jobId)));
  for (const { job } of running) {
    if (await spool.has(job.jobId)) continue;
    const why = 'it could not run on after a restart: its kept input is missing';
    await parts.fail(job, why, new Error(why));
    ended.push(job);
  }
  // The sweeper wants ends in time order, before the ends of jobs that run now.
  for (const job of ended.sort((a, b) => a.updatedAt - b.updatedAt)) parts.adopt(job, job.updatedAt);
  const runningOn = running.filter(({ job }) => job.failure === undefined);
  for (const { job, recorded } of runningOn) {
    parts.adopt(job);
    ingest(job, spool.read(job.jobId), parts.feed, recorded).catch((error: unknown) =>
      parts.fail(job, undefined, error),
    );
  }
  return { jobs: records.length, running: runningOn.length };
};
