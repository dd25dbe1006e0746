import type { IngestProgress, JobRequest } from '../core/job.ts';
import type { RetryPolicy } from '../core/retry.ts';
import { StatsCollector } from '../core/stats/stats.ts';
import type { PipelineRecipe } from './messages.ts';

/** A job's life in the engine: its counts and the promise that settles when its last chunk ends. */
export class JobRun {
  readonly stats = new StatsCollector();
  readonly createdAt = Date.now();
  updatedAt = this.createdAt;
  total: number | undefined;
  /** Why the job failed as a whole: its input could not be read. */
  failure: string | undefined;
  finished = 0;
  failed = 0;
  /** How far the input has been read: what the job's view shows while it is ingesting. */
  readonly ingest: IngestProgress = { chunksEnqueued: 0, bytesRead: 0 };
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

  enqueued(bytes: number): void {
    this.ingest.chunksEnqueued++;
    this.ingest.bytesRead += bytes;
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
    this.failure = `its input stopped: ${error instanceof Error ? error.message : String(error)}`;
    this.touch();
    this.#done.reject(error);
  }

  touch(): void {
    this.updatedAt = Date.now();
  }
}
