import { randomUUID } from 'node:crypto';
import { readJobResult } from '../adapters/result-reading.ts';
import type { TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import { type JobRequest, type JobView, jobView, prepareJob } from '../core/job.ts';
import { outputCompression, type ResolvedStep, type StepRegistry } from '../core/pipeline/registry.ts';
import { type StatsReport, summarize } from '../core/stats/report.ts';
import { emptyStats, type StatsData } from '../core/stats/stats.ts';
import type { TaskRecord } from '../core/task.ts';
import { taskStoreProbe } from '../lifecycle/readiness.ts';
import { NoTargetAvailableError } from '../ports/errors.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import type { InputStore } from '../ports/input-store.ts';
import type { JobDescription, JobService } from '../ports/job-service.ts';
import type { Readiness } from '../ports/readiness.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { StatsReader } from '../ports/stats-reader.ts';
import type { TaskStore } from '../ports/task-store.ts';
import { assertPublicCallback } from './callback-check.ts';
import { type IngestSteps, reasonOf } from './ingest-steps.ts';
import type { Router } from './router.ts';

export interface CloudJobsOptions {
  registry: StepRegistry;
  tasks: TaskStore;
  /** Where a job's input is kept: a request's body, or the object it names, and the segments cut from it. */
  inputs: InputStore;
  /** The segments, as the processors read their chunks: probed for readiness. */
  segments: ResultStore;
  results: ResultStore;
  router: Router;
  /** Where a job's input is split and enqueued, in steps, once it is stored. */
  ingestSteps: IngestSteps;
  idempotency: IdempotencyStore;
  stats: StatsReader;
  /** Where a job's outputs can be read outside the API, such as `s3://bucket/results/id/`. */
  outputsAt?: (jobId: string) => string;
  /** Whether a `callbackUrl` may reach this machine: only under an emulator. @default false */
  callbacksToLoopback?: boolean;
}

/**
 * Jobs on the cloud path: ingest stores the input and records the job with its first ingest checkpoint,
 * then the ingest steps split it and send one message per chunk to the target the balancer picks (see
 * `IngestSteps`); everything else is read back from the task table and the stats the stats function
 * aggregated. Ingest returns as soon as the input is stored, whatever its size.
 */
export class CloudJobs implements JobService {
  readonly #options: CloudJobsOptions;
  readonly pendingChunks = 0;

  constructor(options: CloudJobsOptions) {
    this.#options = options;
  }

  get idempotency(): IdempotencyStore {
    return this.#options.idempotency;
  }

  prepare(request: JobRequest): ResolvedStep[] {
    return prepareJob(this.#options.registry, this.#options.router.targets, request);
  }

  /** Stores the body, then records the job (see `#begin`). */
  async submit(
    input: AsyncIterable<Uint8Array>,
    request: JobRequest,
  ): Promise<{ jobId: string; ingested: Promise<unknown> }> {
    await this.#admit(request);
    const jobId = randomUUID();
    const { source } = await this.#options.inputs.storeBody(jobId, input);
    await this.#begin(jobId, source, request);
    return { jobId, ingested: Promise.resolve() };
  }

  /** Records a job on an object the client stored, which must exist and hold something. */
  async submitSource(uri: string, request: JobRequest): Promise<{ jobId: string }> {
    await this.#admit(request);
    const { bytes } = await this.#options.inputs.find(uri);
    if (bytes === 0) throw new UsageError(`${uri} is empty; there is nothing to process`);
    const jobId = randomUUID();
    await this.#begin(jobId, uri, request);
    return { jobId };
  }

  /** Turns a job away before anything is stored when every breaker of its targets is open. */
  async #admit(request: JobRequest): Promise<void> {
    this.prepare(request);
    if (request.callbackUrl !== undefined) {
      await assertPublicCallback(request.callbackUrl, this.#options.callbacksToLoopback === true);
    }
    const { router } = this.#options;
    const { targets } = request;
    if (!(await router.accepts(targets)))
      throw new NoTargetAvailableError(targets, router.retryAfterMs(targets));
  }

  /**
   * Records the job, `ingesting` from its first checkpoint, and sends its first ingest step. A job whose
   * step could not be sent is marked failed with the reason, so that it never looks under way.
   */
  async #begin(jobId: string, source: string, request: JobRequest): Promise<void> {
    const { tasks, ingestSteps } = this.#options;
    const now = Date.now();
    await tasks.createJob({
      jobId,
      createdAt: now,
      options: { ...request },
      ingest: { source, offset: 0, chunks: 0, segments: 0, steps: 0, updatedAt: now },
    });
    try {
      await ingestSteps.begin(jobId);
    } catch (error) {
      await tasks
        .failJob(jobId, `its ingest could not start: ${reasonOf(error)}`, Date.now())
        .catch(() => {});
      throw error;
    }
  }

  getJob(jobId: string): Promise<JobView | undefined> {
    return readJobView(this.#options.tasks, this.#options.stats, jobId);
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[] | undefined> {
    if ((await this.#options.tasks.getJob(jobId)) === undefined) return undefined;
    return this.#options.tasks.listTasks(jobId, state);
  }

  readResult(jobId: string): AsyncIterable<Uint8Array> {
    return readJobResult(this.#options.tasks, this.#options.results, jobId);
  }

  async describe(jobId: string): Promise<JobDescription | undefined> {
    const record = await this.#options.tasks.getJob(jobId);
    if (record === undefined) return undefined;
    const request = record.options as unknown as JobRequest;
    const compression = outputCompression(this.prepare(request));
    const { outputsAt } = this.#options;
    return {
      request,
      ...(compression && { compression }),
      ...(outputsAt && { outputsAt: outputsAt(jobId) }),
    };
  }

  /** The stats the stats function keeps, with each target's shared breaker. */
  async stats(): Promise<StatsReport> {
    const [data, breakers] = await Promise.all([
      this.#options.stats.overall(),
      this.#options.router.breakers(),
    ]);
    return summarize(data, breakers);
  }

  /** The task table, both prefixes of the bucket and every target's queue, probed as the ports allow. */
  readiness(): Promise<Readiness> {
    const { tasks, segments, results, router } = this.#options;
    return router.readiness({
      tasks: taskStoreProbe(tasks),
      inputs: () => segments.probe(),
      results: () => results.probe(),
    });
  }
}

/** A job's view on the cloud: its record in the task table, with the stats the stats function keeps. */
export const readJobView = async (
  tasks: Pick<TaskStore, 'getJob'>,
  stats: Pick<StatsReader, 'jobStats'>,
  jobId: string,
): Promise<JobView | undefined> => {
  const [record, summary] = await Promise.all([tasks.getJob(jobId), stats.jobStats(jobId)]);
  if (record === undefined) return undefined;
  const data = withPending(summary?.data ?? emptyStats(), record.chunksTotal);
  const updatedAt = Math.max(data.lastAt ?? record.createdAt, record.failed?.at ?? 0);
  const { ingest } = record;
  return jobView(
    {
      jobId,
      createdAt: record.createdAt,
      updatedAt: Math.max(updatedAt, ingest?.updatedAt ?? 0),
      total: record.chunksTotal,
      ...(record.failed && { failure: record.failed.reason }),
      ...(ingest && { ingest: { chunksEnqueued: ingest.chunks, bytesRead: ingest.offset } }),
    },
    data,
  );
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
