import type { BreakerSnapshot } from '../core/breaker.ts';
import type { Costing } from '../core/cost/costing.ts';
import { type JobView, jobView, recordedRequest } from '../core/job.ts';
import { emptyStats, type StatsData } from '../core/stats/stats.ts';
import type { StatsReader } from '../ports/stats-reader.ts';
import type { JobRecord, TaskStore } from '../ports/task-store.ts';

/** A job's view on the cloud: its record in the task table, with the stats the stats function keeps. */
export const cloudJobView = (record: JobRecord, stats: StatsData | undefined, costing: Costing): JobView => {
  const { jobId, ingest } = record;
  const data = withPending(stats ?? emptyStats(), record.chunksTotal);
  const updatedAt = Math.max(
    data.lastAt ?? record.createdAt,
    record.failed?.at ?? 0,
    record.cancelledAt ?? 0,
    ingest?.updatedAt ?? 0,
  );
  return jobView(
    {
      jobId,
      priority: recordedRequest(record.options).priority,
      createdAt: record.createdAt,
      updatedAt,
      total: record.chunksTotal,
      ...(record.failed && { failure: record.failed.reason }),
      ...(record.cancelledAt !== undefined && { cancelledAt: record.cancelledAt }),
      ...(record.rerunAt !== undefined && { rerunAt: record.rerunAt }),
      ...(ingest && { ingest: { chunksEnqueued: ingest.chunks, bytesRead: ingest.offset } }),
    },
    data,
    costing,
  );
};

/** Reads a job's record and summary, for its view; undefined for a job the table does not hold. */
export const readJobView = async (
  tasks: Pick<TaskStore, 'getJob'>,
  stats: Pick<StatsReader, 'jobStats'>,
  costing: Costing,
  jobId: string,
): Promise<JobView | undefined> => {
  const [record, summary] = await Promise.all([tasks.getJob(jobId), stats.jobStats(jobId)]);
  return record && cloudJobView(record, summary?.data, costing);
};

/** The stats count a task from its first claim; the job's total says how many are still waiting. */
const withPending = (data: StatsData, total: number | undefined): StatsData => {
  const waiting = Math.max(0, (total ?? data.tasks) - data.tasks);
  return {
    ...data,
    tasks: data.tasks + waiting,
    states: { ...data.states, pending: data.states.pending + waiting },
  };
};

/**
 * A job's view with each of its targets' shared breaker state, as the engine's views carry it: what the
 * events of emulator mode tell breaker changes from. A target the health store never recorded is closed.
 */
export const withBreakers = (view: JobView, breakers: ReadonlyMap<string, BreakerSnapshot>): JobView => {
  const targets = Object.fromEntries(
    Object.entries(view.stats.targets).map(([name, report]) => [
      name,
      { ...report, breaker: breakers.get(name)?.state ?? 'closed' },
    ]),
  );
  return { ...view, stats: { ...view.stats, targets } };
};
