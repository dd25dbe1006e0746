import type { ChunkerOptions } from './chunker.ts';
import { JobStatus, LIMITS, type Strategy } from './constants.ts';
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
  /** The input's media type; the result keeps it unless the pipeline compresses. */
  contentType?: string;
  /** Where the job's end is posted as a signed webhook (`?callbackUrl=`). */
  callbackUrl?: string;
  /** `progress`: the webhook also gets running/progress updates; `end` (the default): its end only. */
  notify?: 'end' | 'progress';
}

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

/** A job as the API and the CLI show it. */
export interface JobView {
  jobId: string;
  status: JobStatus;
  chunksTotal: number | null;
  chunksCompleted: number;
  chunksFailed: number;
  percentComplete: number;
  /** While the job is `ingesting`: how far its input has been read. */
  ingest?: IngestProgress;
  createdAt: string;
  updatedAt: string;
  /** Why the job failed as a whole, when it did. */
  error?: string;
  stats: StatsReport;
}

/**
 * A job as the API shows it, from its counts: failed when it failed as a whole (`failure`), ingesting
 * while its total is unknown (with `ingest`, how far its input has been read), finished once every chunk
 * ended, queued until its first try. The engine and the cloud path both show jobs this way.
 */
export const jobView = (
  job: {
    jobId: string;
    createdAt: number;
    updatedAt: number;
    total: number | undefined;
    failure?: string;
    ingest?: IngestProgress;
  },
  data: StatsData,
  loads: readonly TargetNow[] = [],
): JobView => {
  const { total, failure } = job;
  const done = data.states.completed + data.states.failed;
  const status =
    failure !== undefined
      ? JobStatus.failed
      : total === undefined
        ? JobStatus.ingesting
        : done === total
          ? data.states.failed > 0
            ? JobStatus.completedWithFailures
            : JobStatus.completed
          : data.attempts === 0
            ? JobStatus.queued
            : JobStatus.processing;
  return {
    jobId: job.jobId,
    status,
    chunksTotal: total ?? null,
    chunksCompleted: data.states.completed,
    chunksFailed: data.states.failed,
    percentComplete: total ? Math.floor((done / total) * 1000) / 10 : 0,
    ...(status === JobStatus.ingesting && {
      ingest: { chunksEnqueued: job.ingest?.chunksEnqueued ?? 0, bytesRead: job.ingest?.bytesRead ?? 0 },
    }),
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    ...(failure !== undefined && { error: failure }),
    stats: summarize(data, loads),
  };
};
