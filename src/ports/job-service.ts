import type { JobStatus, TaskState } from '../core/constants.ts';
import type { JobRequest, JobView } from '../core/job.ts';
import type { StatsReport } from '../core/stats/report.ts';
import type { TargetView } from '../core/stats/targets.ts';
import type { TaskRecord } from '../core/task.ts';
import type { IdempotencyStore } from './idempotency-store.ts';
import type { Readiness } from './readiness.ts';
import type { JobListCursor } from './task-store.ts';

/**
 * A job's input: a file that holds it whole (a service that keeps inputs may keep the file itself,
 * without copying it), or a stream it reads once.
 */
export type JobInput = { path: string } | AsyncIterable<Uint8Array>;

export interface SubmitOptions {
  /**
   * The `Idempotency-Key` the request holds: a service whose store can record the key's job in the same
   * write as the job does so, so that a crash between the two cannot let a retry start a second job. The
   * API binds it afterwards in any case (`IdempotencyStore.complete`, which is idempotent).
   */
  idempotency?: { key: string; owner: string };
}

/** A page of `GET /jobs`. */
export interface JobListQuery {
  status?: JobStatus;
  limit: number;
  /** The last job of the page before. */
  after?: JobListCursor;
}

export interface JobPage {
  jobs: JobView[];
  /** Where the next page starts; absent on the last page. */
  next?: JobListCursor;
}

/** What a job was asked to do, and how and where its result can be read. */
export interface JobDescription {
  request: JobRequest;
  /** The result's compression, when the pipeline compresses. */
  compression?: string;
  /** Where its chunk outputs can be read outside the API (`s3://bucket/results/id/`), where they can. */
  outputsAt?: string;
}

/**
 * What the API runs jobs on: the embedded engine, or the cloud (ingest to queues, state in DynamoDB).
 * Reads may be answered from memory or from a store, so they may be promises.
 */
export interface JobService {
  /** Checks a request against what the service can run; throws `UsageError` naming what is wrong. */
  prepare(request: JobRequest): unknown;
  /**
   * Starts a job on `input`, and resolves once the input is durably the service's and the job is
   * recorded, `ingesting`: the input is split and enqueued after that, and the job's view shows how far
   * that has gone. `ingested` settles once the service no longer reads `input`. Throws
   * `NoTargetAvailableError` when no target of the job can take its chunks.
   */
  submit(
    input: JobInput,
    request: JobRequest,
    options?: SubmitOptions,
  ): Promise<{ jobId: string; ingested: Promise<unknown> }>;
  getJob(jobId: string): JobView | undefined | Promise<JobView | undefined>;
  /** Jobs newest first, optionally only those in one status. */
  listJobs(query: JobListQuery): Promise<JobPage>;
  /**
   * Cancels a job: no try of it starts after this resolves, tries already running finish and are
   * recorded, and its waiting chunks are cancelled as their messages come up. A job that ended is left as
   * it is. The job's view, or undefined for an unknown job.
   */
  cancel(jobId: string): Promise<JobView | undefined>;
  /**
   * Re-runs a job's failed chunks, each with a fresh attempt budget (see `rerunConflict` for when it
   * may); the number re-run, or undefined for an unknown job. Throws `JobConflictError`.
   */
  retry(jobId: string): Promise<{ chunks: number } | undefined>;
  listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[] | undefined>;
  readResult(jobId: string): AsyncIterable<Uint8Array>;
  /** A finished job's rejects (records its `check` steps took out), as NDJSON in the input's order. */
  readRejects(jobId: string): AsyncIterable<Uint8Array>;
  describe(jobId: string): JobDescription | undefined | Promise<JobDescription | undefined>;
  stats(): StatsReport | Promise<StatsReport>;
  /** Every configured target, by name: its breaker with its changes, and the overall stats of its tries. */
  targets(): Record<string, TargetView> | Promise<Record<string, TargetView>>;
  /** Probes the stores and the targets' queues through their ports, with each target's breaker. */
  readiness(): Promise<Readiness>;
  /** Chunks accepted and not yet finished: what `Retry-After` is worked out from. */
  readonly pendingChunks: number;
  /** Where `Idempotency-Key`s of `POST /jobs` are remembered. */
  readonly idempotency: IdempotencyStore;
  /**
   * Starts a job on the object a URI names (`s3://bucket/key`) for `POST /jobs` with `{"source": …}`,
   * where a service reads inputs larger than a request body may be; it resolves as `submit` does. Throws
   * `UsageError` for a source that does not exist or is empty.
   */
  submitSource?(uri: string, request: JobRequest): Promise<{ jobId: string }>;
}
