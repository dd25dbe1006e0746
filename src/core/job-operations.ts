import { JobStatus } from './constants.ts';
import { isFinalJobStatus, type JobView } from './job.ts';

/** Why a job's failed chunks cannot be re-run now, as a problem slug and a sentence; undefined when they can. */
export const rerunConflict = (view: JobView): { slug: string; detail: string } | undefined => {
  const { jobId, status } = view;
  if (!isFinalJobStatus(status))
    return {
      slug: 'job-running',
      detail: `job ${jobId} is ${status}; re-run its failed chunks once it ends`,
    };
  if (status === JobStatus.cancelled)
    return { slug: 'job-cancelled', detail: `job ${jobId} was cancelled; submit it again instead` };
  if (view.error !== undefined)
    return {
      slug: 'job-failed',
      detail: `job ${jobId} failed as a whole (${view.error}); it has no chunks to re-run, submit it again`,
    };
  if (view.chunksFailed === 0)
    return { slug: 'nothing-to-retry', detail: `job ${jobId} has no failed chunks to re-run` };
  return undefined;
};

/** Whether a cancel changes anything: a job that already ended stays as it ended. */
export const cancelApplies = (view: JobView): boolean => !isFinalJobStatus(view.status);

/** Where a page of jobs starts: after the last job of the page before. */
export interface JobListCursor {
  createdAt: number;
  jobId: string;
}

/** Newest first, ties by id (descending): the one order jobs are listed and paged in. */
export const newestFirst = (a: JobListCursor, b: JobListCursor): number =>
  b.createdAt - a.createdAt || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0);

/**
 * One page of `jobs` (in `newestFirst` order) after `after`: up to `limit` of those `keep` maps to a value,
 * and the cursor of the last job looked at when more may follow.
 */
export const pageOf = <J extends JobListCursor, V>(
  jobs: readonly J[],
  { limit, after }: { limit: number; after?: JobListCursor },
  keep: (job: J) => V | undefined,
): { items: V[]; next?: JobListCursor } => {
  const items: V[] = [];
  let i = after === undefined ? 0 : jobs.findIndex((job) => newestFirst(job, after) > 0);
  if (i < 0) return { items };
  for (; i < jobs.length && items.length < limit; i++) {
    const kept = keep(jobs[i] as J);
    if (kept !== undefined) items.push(kept);
  }
  const last = jobs[i - 1];
  return i < jobs.length && last !== undefined
    ? { items, next: { createdAt: last.createdAt, jobId: last.jobId } }
    : { items };
};
