import type { TaskState } from '../core/constants.ts';
import type { JobRequest, JobView } from '../core/job.ts';
import type { StatsReport } from '../core/stats/report.ts';
import type { TaskRecord } from '../core/task.ts';
import type { Readiness } from './readiness.ts';

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
   * Starts a job. Throws `NoTargetAvailableError` when no target of the job can take its chunks; a job
   * recorded before that was known is marked failed, and the error names it.
   */
  submit(
    input: AsyncIterable<Uint8Array>,
    request: JobRequest,
  ): Promise<{ jobId: string; ingested: Promise<number> }>;
  getJob(jobId: string): JobView | undefined | Promise<JobView | undefined>;
  listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[] | undefined>;
  readResult(jobId: string): AsyncIterable<Uint8Array>;
  describe(jobId: string): JobDescription | undefined | Promise<JobDescription | undefined>;
  stats(): StatsReport | Promise<StatsReport>;
  /** Probes the stores and the targets' queues through their ports, with each target's breaker. */
  readiness(): Promise<Readiness>;
  /** Chunks accepted and not yet finished: what `Retry-After` is worked out from. */
  readonly pendingChunks: number;
  /**
   * Opens an input named by URI (`s3://bucket/key`) for `POST /jobs` with `{"source": …}`, where a
   * service reads inputs larger than a request body may be. Throws `UsageError` for one it cannot open.
   */
  openSource?(uri: string): Promise<AsyncIterable<Uint8Array>>;
}
