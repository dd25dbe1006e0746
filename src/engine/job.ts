import type { TargetLoad } from '../core/balancer.ts';
import type { ChunkerOptions } from '../core/chunker.ts';
import type { Strategy } from '../core/constants.ts';
import { JobStatus } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import type { ResolvedStep, StepRegistry } from '../core/pipeline/registry.ts';
import type { StepSpec } from '../core/pipeline/step.ts';
import type { RetryPolicy } from '../core/retry.ts';
import { type StatsReport, summarize } from '../core/stats/report.ts';
import { StatsCollector, type StatsData } from '../core/stats/stats.ts';
import type { PipelineRecipe } from './messages.ts';

/** What one job asks for. Every field has been checked by `Engine.prepare`. */
export interface JobRequest {
  pipeline: StepSpec[];
  chunking: ChunkerOptions;
  maxAttempts: number;
  strategy: Strategy;
  targets: string[];
  /** The input's media type; the result keeps it unless the pipeline compresses. */
  contentType?: string;
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
  if (!Number.isInteger(request.maxAttempts) || request.maxAttempts < 1) {
    throw new UsageError(`maxAttempts must be a whole number of at least 1, got ${request.maxAttempts}`);
  }
  return steps;
};

/** A job as the API and the CLI show it. */
export interface JobView {
  jobId: string;
  status: JobStatus;
  chunksTotal: number | null;
  chunksCompleted: number;
  chunksFailed: number;
  percentComplete: number;
  createdAt: string;
  updatedAt: string;
  stats: StatsReport;
}

/**
 * A job as the API shows it, from its counts: finished once its total is known and every chunk ended,
 * queued until its first try. The engine and the cloud path both show jobs this way.
 */
export const jobView = (
  job: { jobId: string; createdAt: number; updatedAt: number; total: number | undefined },
  data: StatsData,
  loads: readonly TargetLoad[] = [],
): JobView => {
  const { total } = job;
  const done = data.states.completed + data.states.failed;
  const status =
    total !== undefined && done === total
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
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    stats: summarize(data, loads),
  };
};

/** A job's life in the engine: its counts and the promise that settles when its last chunk ends. */
export class JobRun {
  readonly stats = new StatsCollector();
  readonly createdAt = Date.now();
  updatedAt = this.createdAt;
  total: number | undefined;
  finished = 0;
  failed = 0;
  readonly #done = Promise.withResolvers<void>();
  readonly jobId: string;
  readonly request: JobRequest;
  readonly recipe: PipelineRecipe;
  readonly retry: RetryPolicy;
  readonly compression: string | undefined;

  constructor(
    jobId: string,
    request: JobRequest,
    recipe: PipelineRecipe,
    retry: RetryPolicy,
    compression?: string,
  ) {
    this.jobId = jobId;
    this.request = request;
    this.recipe = recipe;
    this.retry = retry;
    this.compression = compression;
    // A job that ends in an ingest error rejects `done`; nobody may be listening yet.
    this.#done.promise.catch(() => {});
  }

  get done(): Promise<void> {
    return this.#done.promise;
  }

  get isFinished(): boolean {
    return this.total !== undefined && this.finished === this.total;
  }

  ingested(total: number): void {
    this.total = total;
    this.touch();
    if (this.isFinished) this.#done.resolve();
  }

  taskFinished(failed: boolean): void {
    this.finished++;
    if (failed) this.failed++;
    this.touch();
    if (this.isFinished) this.#done.resolve();
  }

  abort(error: unknown): void {
    this.#done.reject(error);
  }

  touch(): void {
    this.updatedAt = Date.now();
  }
}
