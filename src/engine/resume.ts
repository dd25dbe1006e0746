import type { FileInputSpool } from '../adapters/local/file-input-spool.ts';
import type { JobRequest } from '../core/job.ts';
import type { ResolvedStep } from '../core/pipeline/registry.ts';
import type { TaskRecord } from '../core/task.ts';
import type { JobRecord, TaskStore } from '../ports/task-store.ts';
import { type FeedParts, ingest } from './job-feed.ts';
import type { JobRun } from './job-run.ts';

/** What of a durable engine `resumeKeptJobs` reaches. */
export interface ResumeParts {
  tasks: TaskStore;
  spool: FileInputSpool;
  feed: FeedParts;
  /** Checks a job's request against the engine as it is now (see `Engine.prepare`); throws `UsageError`. */
  prepare(request: JobRequest): ResolvedStep[];
  /** A run for a recorded job, with its steps as resolved. */
  newRun(record: JobRecord, steps: ResolvedStep[]): JobRun;
  /** Makes a job the engine's (see `Engine.#adopt`); `endedAt` for one that has ended. */
  adopt(job: JobRun, endedAt?: number): void;
  /** Fails a job as a whole, in its run and its record (see `Engine.#fail`): for `reason`, or its input stopped. */
  fail(job: JobRun, reason: string | undefined, error: unknown): Promise<void>;
  /** Removes the inputs and results of jobs the store does not know (a crash in the middle of expiring one). */
  sweep(known: ReadonlySet<string>): Promise<void>;
}

const PAGE = 1000;

/** A run for a job an earlier process recorded, as its request asked; and why it cannot run now, if not. */
const runOf = (parts: ResumeParts, record: JobRecord): { job: JobRun; problem?: string } => {
  try {
    return { job: parts.newRun(record, parts.prepare(record.options as unknown as JobRequest)) };
  } catch (error) {
    return { job: parts.newRun(record, []), problem: error instanceof Error ? error.message : String(error) };
  }
};

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
 * released when the store is opened, see `SqliteDataStore.releaseLeases`). A job that cannot run on (its
 * input is gone, or the configuration no longer has its targets or steps) fails as a whole, with why.
 */
export const resumeKeptJobs = async (parts: ResumeParts): Promise<{ jobs: number; running: number }> => {
  const { tasks, spool } = parts;
  const ended: JobRun[] = [];
  const running: { job: JobRun; recorded: Map<number, TaskRecord> }[] = [];
  const records = await allJobs(tasks);
  await parts.sweep(new Set(records.map((record) => record.jobId)));
  for (const record of records) {
    const { job, problem } = runOf(parts, record);
    const missing = (await spool.has(record.jobId)) ? undefined : 'its kept input is missing';
    const reason = problem ?? missing;
    const recorded = await tasks.listTasks(record.jobId);
    job.restore(record, recorded);
    if (reason !== undefined && !job.isFinished && job.failure === undefined) {
      const why = `it could not run on after a restart: ${reason}`;
      await parts.fail(job, why, new Error(why));
    }
    if (job.isFinished || job.failure !== undefined) ended.push(job);
    else running.push({ job, recorded: new Map(recorded.map((task) => [task.index, task])) });
  }
  // The sweeper wants ends in time order, before the ends of jobs that run now.
  for (const job of ended.sort((a, b) => a.updatedAt - b.updatedAt)) parts.adopt(job, job.updatedAt);
  for (const { job, recorded } of running) {
    parts.adopt(job);
    ingest(job, spool.read(job.jobId), parts.feed, recorded).catch((error: unknown) =>
      parts.fail(job, undefined, error),
    );
  }
  return { jobs: records.length, running: running.length };
};
