import type { ChunkerOptions } from './chunker.ts';
import { JobStatus, LIMITS, Priority, type Strategy } from './constants.ts';
import type { Costing } from './cost/costing.ts';
import { UsageError } from './errors.ts';
import type { ResolvedStep, StepRegistry } from './pipeline/registry.ts';
import type { StepSpec } from './pipeline/step.ts';
import { type StatsReport, summarize, type TargetNow } from './stats/report.ts';
import type { StatsData } from './stats/stats.ts';

/** What one job asks for. Every field has been checked by `prepareJob`. */
export interface JobRequest {
  pipeline: StepSpec[];
  chunking: ChunkerOptions;
  maxAttempts: number;
  strategy: Strategy;
  targets: string[];
  /** The job's lane on every target (`?priority=`); its retries keep it. */
  priority: Priority;
  /** The input's media type; the result keeps it unless the pipeline compresses. */
  contentType?: string;
  /** Where the job's end is posted as a signed webhook (`?callbackUrl=`). */
  callbackUrl?: string;
  /** `progress`: the webhook also gets running/progress updates; `end` (the default): its end only. */
  notify?: 'end' | 'progress';
}

/**
 * A job's request as its record keeps it. A job recorded before lanes existed (a data directory or a
 * table written by an earlier version) runs in the medium lane, where every job ran then.
 */
export const recordedRequest = (options: Record<string, unknown>): JobRequest =>
  ({ priority: Priority.medium, ...options }) as unknown as JobRequest;

/** Checks a job request against what can run it: steps, parameters, targets, attempts. Throws `UsageError`. */
export const prepareJob = (
  registry: StepRegistry,
  knownTargets: readonly string[],
  request: JobRequest,
): ResolvedStep[] => {
  const steps = registry.resolve(request.pipeline, request.chunking.mode);
  const unknown = request.targets.filter((name) => !knownTargets.includes(name));
  if (unknown.length > 0 || request.targets.length === 0) {
    throw new UsageError(
      `targets must be a non-empty subset of ${knownTargets.join(', ')}; got ${request.targets.join(', ') || 'none'}`,
    );
  }
  const { maxAttempts } = request;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > LIMITS.maxAttempts) {
    throw new UsageError(
      `maxAttempts must be a whole number from 1 to ${LIMITS.maxAttempts}, got ${maxAttempts}`,
    );
  }
  return steps;
};

/** How far a job's input has been read: chunks enqueued so far, and the bytes they hold. */
export interface IngestProgress {
  chunksEnqueued: number;
  bytesRead: number;
}

/** The statuses a job ends in; a re-run of its failed chunks (`POST /jobs/{id}/retry`) may start it again. */
export const FINAL_JOB_STATUSES: readonly JobStatus[] = [
  JobStatus.completed,
  JobStatus.completedWithFailures,
  JobStatus.failed,
  JobStatus.cancelled,
];

export const isFinalJobStatus = (status: JobStatus): boolean => FINAL_JOB_STATUSES.includes(status);

/** A job as the API and the CLI show it. */
export interface JobView {
  jobId: string;
  status: JobStatus;
  /** The job's lane. */
  priority: Priority;
  chunksTotal: number | null;
  chunksCompleted: number;
  chunksFailed: number;
  /** Chunks that never ran again once the job was cancelled. */
  chunksCancelled: number;
  percentComplete: number;
  /** While the job is `ingesting`: how far its input has been read. */
  ingest?: IngestProgress;
  createdAt: string;
  /** When its first try started; null before. */
  startedAt: string | null;
  /** When it reached the status it ended in; null while it runs. */
  completedAt: string | null;
  /** When its cancel was accepted, if it was. */
  cancelledAt?: string;
  updatedAt: string;
  /** Why the job failed as a whole, when it did. */
  error?: string;
  stats: StatsReport;
}

/** What `jobView` needs of a job besides its counts. */
export interface JobFacts {
  jobId: string;
  priority: Priority;
  createdAt: number;
  updatedAt: number;
  total: number | undefined;
  failure?: string;
  ingest?: IngestProgress;
  /** When its cancel was accepted. */
  cancelledAt?: number;
  /**
   * When its failed chunks were last re-run: until a try ends after that, it runs, even where its counts
   * (aggregated later, on the cloud) do not show the re-run yet.
   */
  rerunAt?: number;
}

/**
 * The status a job's counts give: failed when it failed as a whole (`failure`); cancelled once a cancel
 * was accepted and nothing of it runs; ingesting while its total is unknown; once every chunk ended,
 * completed, failed (none completed) or completed with failures; queued until its first try.
 */
export const jobStatus = (job: JobFacts, data: StatsData): JobStatus => {
  const { states } = data;
  if (job.failure !== undefined) return JobStatus.failed;
  if (job.cancelledAt !== undefined && states.processing === 0) return JobStatus.cancelled;
  if (job.rerunAt !== undefined && (data.lastAt ?? 0) < job.rerunAt) return JobStatus.processing;
  if (job.total === undefined) return JobStatus.ingesting;
  if (states.completed + states.failed + states.cancelled === job.total) {
    if (states.completed === job.total) return JobStatus.completed;
    return states.completed === 0 ? JobStatus.failed : JobStatus.completedWithFailures;
  }
  return data.attempts === 0 ? JobStatus.queued : JobStatus.processing;
};

/** A job as the API shows it, from its counts (see `jobStatus`). The engine and the cloud path both show jobs this way. */
export const jobView = (
  job: JobFacts,
  data: StatsData,
  costing: Costing,
  loads: readonly TargetNow[] = [],
): JobView => {
  const { total, failure } = job;
  const { states } = data;
  const status = jobStatus(job, data);
  const done = states.completed + states.failed + states.cancelled;
  const updatedAt = new Date(job.updatedAt).toISOString();
  return {
    jobId: job.jobId,
    status,
    priority: job.priority,
    chunksTotal: total ?? null,
    chunksCompleted: states.completed,
    chunksFailed: states.failed,
    chunksCancelled: states.cancelled,
    percentComplete: total ? Math.floor((done / total) * 1000) / 10 : 0,
    ...(status === JobStatus.ingesting && {
      ingest: { chunksEnqueued: job.ingest?.chunksEnqueued ?? 0, bytesRead: job.ingest?.bytesRead ?? 0 },
    }),
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: data.firstAt === undefined ? null : new Date(data.firstAt).toISOString(),
    completedAt: isFinalJobStatus(status) ? updatedAt : null,
    ...(job.cancelledAt !== undefined && { cancelledAt: new Date(job.cancelledAt).toISOString() }),
    updatedAt,
    ...(failure !== undefined && { error: failure }),
    stats: summarize(data, costing, loads),
  };
};
