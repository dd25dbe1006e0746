import type { Priority } from '../core/constants.ts';
import { TaskState } from '../core/constants.ts';
import type { IngestProgress, JobRequest } from '../core/job.ts';
import { type FanIn, fanInOf } from '../core/pipeline/fan-in.ts';
import { outputCompression, type ResolvedStep } from '../core/pipeline/registry.ts';
import { type RetryOptions, RetryPolicy } from '../core/retry.ts';
import { StatsCollector } from '../core/stats/stats.ts';
import { replayTask } from '../core/stats/task-replay.ts';
import { isFinal, type TaskRecord } from '../core/task.ts';
import type { JobRecord } from '../ports/task-store.ts';
import type { PipelineRecipe } from './messages.ts';

/** A job's life in the engine: its counts and the promise that settles when its last chunk ends. */
export class JobRun {
  readonly stats = new StatsCollector();
  readonly createdAt: number;
  updatedAt: number;
  total: number | undefined;
  /** Why the job failed as a whole: its input could not be read. */
  failure: string | undefined;
  finished = 0;
  failed = 0;
  /** How far the input has been read: what the job's view shows while it is ingesting. */
  readonly ingest: IngestProgress = { chunksEnqueued: 0, bytesRead: 0 };
  /** When its cancel was accepted: no try of it starts after that, and its ingest stops. */
  cancelledAt: number | undefined;
  /**
   * The chunks that failed for good, copied out of the arena: what a re-run sends again, since the
   * engine's input is a stream read once. Kept until the job is forgotten.
   */
  readonly deadLetters = new Map<number, Uint8Array>();
  #done = Promise.withResolvers<void>();
  #settled = false;
  readonly jobId: string;
  readonly request: JobRequest;
  readonly recipe: PipelineRecipe;
  readonly retry: RetryPolicy;
  readonly compression: string | undefined;
  /** How its result is made from its chunks' outputs, when it is more than laying them end to end. */
  readonly fanIn: FanIn | undefined;

  /** The job's lane. */
  get priority(): Priority {
    return this.request.priority;
  }

  /** A run of `request`, with its steps as resolved and the engine's retry defaults. */
  static of(options: {
    jobId: string;
    request: JobRequest;
    steps: readonly ResolvedStep[];
    modules: readonly string[];
    retry: RetryOptions;
    createdAt?: number | undefined;
  }): JobRun {
    const { jobId, request, steps, modules, retry, createdAt } = options;
    const { pipeline, chunking, maxAttempts } = request;
    return new JobRun(
      jobId,
      request,
      { key: JSON.stringify([pipeline, chunking.mode]), steps: pipeline, modules, mode: chunking.mode },
      new RetryPolicy({ ...retry, maxAttempts }),
      outputCompression(steps),
      createdAt,
    );
  }

  constructor(
    jobId: string,
    request: JobRequest,
    recipe: PipelineRecipe,
    retry: RetryPolicy,
    compression?: string,
    createdAt = Date.now(),
  ) {
    this.createdAt = createdAt;
    this.updatedAt = createdAt;
    this.jobId = jobId;
    this.request = request;
    this.recipe = recipe;
    this.retry = retry;
    this.compression = compression;
    this.fanIn = fanInOf(request.pipeline);
    // A job that ends in an ingest error rejects `done`; nobody may be listening yet.
    this.#done.promise.catch(() => {});
  }

  /** Settles when every chunk has ended; a re-run of failed chunks makes it wait for them anew. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  get isFinished(): boolean {
    return this.total !== undefined && this.finished === this.total;
  }

  /**
   * Takes up a job as an earlier process left it: its counts from its task records, its total, cancel
   * and failure from its record. A job whose chunks have all ended is done at once.
   */
  restore(record: JobRecord, tasks: readonly TaskRecord[]): void {
    this.cancelledAt = record.cancelledAt;
    let lastChange = Math.max(this.createdAt, record.cancelledAt ?? 0, record.failed?.at ?? 0);
    for (const task of tasks) {
      replayTask(this.stats, task);
      lastChange = Math.max(lastChange, task.updatedAt);
      if (isFinal(task.state)) {
        this.finished++;
        if (task.state === TaskState.failed) this.failed++;
      }
    }
    if (record.chunksTotal !== undefined) {
      this.ingest.chunksEnqueued = record.chunksTotal;
      this.ingested(record.chunksTotal);
    }
    if (record.failed !== undefined && !this.#settled) this.fail(record.failed.reason);
    this.updatedAt = lastChange;
  }

  enqueued(bytes: number): void {
    this.ingest.chunksEnqueued++;
    this.ingest.bytesRead += bytes;
  }

  ingested(total: number): void {
    this.total = total;
    this.#changed();
  }

  taskFinished(failed: boolean): void {
    this.finished++;
    if (failed) this.failed++;
    this.#changed();
  }

  /** A failed chunk put back to run again. */
  taskReopened(): void {
    this.finished--;
    this.failed--;
    if (this.#settled) {
      this.#settled = false;
      this.#done = Promise.withResolvers<void>();
    }
    this.touch();
  }

  cancel(at: number): void {
    this.cancelledAt ??= at;
    this.touch();
  }

  /** The job failed as a whole: its input stopped. */
  abort(error: unknown): void {
    this.fail(`its input stopped: ${error instanceof Error ? error.message : String(error)}`, error);
  }

  /** The job failed as a whole, for `reason`: `done` rejects with `error`. */
  fail(reason: string, error: unknown = new Error(reason)): void {
    this.failure = reason;
    this.touch();
    this.#settled = true;
    this.#done.reject(error);
  }

  #changed(): void {
    this.touch();
    if (this.isFinished && !this.#settled) {
      this.#settled = true;
      this.#done.resolve();
    }
  }

  touch(): void {
    this.updatedAt = Date.now();
  }
}
