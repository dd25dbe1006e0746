import { randomUUID } from 'node:crypto';
import { readJobResult } from '../adapters/result-reading.ts';
import { type Chunk, chunkStream } from '../core/chunker.ts';
import { MiB, type TaskState } from '../core/constants.ts';
import { TargetUnavailableError, UsageError } from '../core/errors.ts';
import { type JobRequest, type JobView, jobView, prepareJob } from '../core/job.ts';
import { outputCompression, type ResolvedStep, type StepRegistry } from '../core/pipeline/registry.ts';
import { type StatsReport, summarize } from '../core/stats/report.ts';
import { emptyStats, type StatsData } from '../core/stats/stats.ts';
import type { TaskRecord } from '../core/task.ts';
import { taskStoreProbe } from '../lifecycle/readiness.ts';
import { NoTargetAvailableError } from '../ports/errors.ts';
import type { JobDescription, JobService } from '../ports/job-service.ts';
import type { Readiness } from '../ports/readiness.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { StatsReader } from '../ports/stats-reader.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { Router } from './router.ts';

export interface CloudJobsOptions {
  registry: StepRegistry;
  tasks: TaskStore;
  /** Where chunks wait for their processor: consecutive chunks packed into segments. */
  inputs: ResultStore;
  results: ResultStore;
  router: Router;
  stats: StatsReader;
  /** Opens an input named by URI, for inputs larger than a request body. */
  openSource?: (uri: string) => Promise<AsyncIterable<Uint8Array>>;
  /**
   * Bytes of chunks packed into one input object before their messages are sent.
   * @default 8 MiB
   */
  segmentBytes?: number;
  /** Where a job's outputs can be read outside the API, such as `s3://bucket/results/id/`. */
  outputsAt?: (jobId: string) => string;
}

/** Chunks in one segment record: about 150 bytes each, well within a DynamoDB item. */
const SEGMENT_RECORD_CHUNKS = 1000;

/** An error's message and its causes', as a failed job's reason. */
const reasonOf = (error: unknown): string => {
  const messages: string[] = [];
  for (let e: unknown = error; e !== undefined && messages.length < 3; e = (e as Error).cause)
    messages.push(e instanceof Error ? e.message : String(e));
  return messages.join(': ');
};

/**
 * Jobs on the cloud path: ingest packs chunks into segment objects and sends one message per chunk to
 * the target the balancer picks; everything else is read back from the task table and the stats the
 * stats function aggregated. Ingest returns once the whole input is enqueued, as a function must.
 */
export class CloudJobs implements JobService {
  readonly #options: CloudJobsOptions;
  readonly pendingChunks = 0;

  constructor(options: CloudJobsOptions) {
    this.#options = options;
  }

  openSource(uri: string): Promise<AsyncIterable<Uint8Array>> {
    if (this.#options.openSource === undefined) throw new UsageError('this service reads no sources');
    return this.#options.openSource(uri);
  }

  prepare(request: JobRequest): ResolvedStep[] {
    return prepareJob(this.#options.registry, this.#options.router.targets, request);
  }

  /**
   * Turns a job away before recording it when every breaker of its targets is open. A job whose input
   * cannot be read or sent after it was recorded is marked failed with the reason, so that it never looks
   * queued until it expires; the chunks sent before that still run.
   */
  async submit(
    input: AsyncIterable<Uint8Array>,
    request: JobRequest,
  ): Promise<{ jobId: string; ingested: Promise<number> }> {
    this.prepare(request);
    const { router, tasks } = this.#options;
    const { targets } = request;
    if (!(await router.accepts(targets)))
      throw new NoTargetAvailableError(targets, router.retryAfterMs(targets));
    const jobId = randomUUID();
    await tasks.createJob({ jobId, createdAt: Date.now(), options: { ...request } });
    const progress = { sent: 0, segments: 0 };
    try {
      const total = await this.#ingest(jobId, input, request, progress);
      return { jobId, ingested: Promise.resolve(total) };
    } catch (error) {
      const reason = `its input stopped after ${progress.sent} chunks were sent: ${reasonOf(error)}`;
      // The store may be what failed; the error that stopped the input is the one to report.
      await tasks.failJob(jobId, reason, Date.now()).catch(() => {});
      if (error instanceof TargetUnavailableError) {
        throw new NoTargetAvailableError(targets, router.retryAfterMs(targets), { jobId, cause: error });
      }
      throw error;
    }
  }

  async #ingest(
    jobId: string,
    input: AsyncIterable<Uint8Array>,
    request: JobRequest,
    progress: { sent: number; segments: number },
  ): Promise<number> {
    const limit = this.#options.segmentBytes ?? 8 * MiB;
    let segment: Chunk[] = [];
    let bytes = 0;
    let total = 0;
    for await (const chunk of chunkStream(input, jobId, request.chunking)) {
      segment.push(chunk);
      bytes += chunk.bytes;
      total++;
      if (bytes >= limit) {
        await this.#enqueue(jobId, segment, request, progress);
        progress.sent += segment.length;
        segment = [];
        bytes = 0;
      }
    }
    if (segment.length > 0) await this.#enqueue(jobId, segment, request, progress);
    await this.#options.tasks.setJobTotal(jobId, total);
    return total;
  }

  /** Stores the chunks as one input object and records them (what deliveries are checked against), then sends them. */
  async #enqueue(
    jobId: string,
    chunks: readonly Chunk[],
    request: JobRequest,
    progress: { segments: number },
  ): Promise<void> {
    const refs = await this.#options.inputs.put(
      jobId,
      chunks.map((chunk) => chunk.data),
    );
    const sentAt = Date.now();
    // One record per SEGMENT_RECORD_CHUNKS chunks: a DynamoDB item holds at most 400 KB.
    for (let start = 0; start < chunks.length; start += SEGMENT_RECORD_CHUNKS) {
      const part = chunks.slice(start, start + SEGMENT_RECORD_CHUNKS);
      await this.#options.tasks.putSegment({
        jobId,
        segment: progress.segments++,
        firstIndex: (part[0] as Chunk).index,
        sentAt,
        chunks: part.map((chunk, i) => ({
          sha256: chunk.sha256,
          bytes: chunk.bytes,
          input: refs[start + i] as string,
        })),
      });
    }
    const routes = chunks.map((chunk, i) => ({
      message: {
        jobId,
        index: chunk.index,
        attempt: 1,
        routedAt: 0,
        sha256: chunk.sha256,
        bytes: chunk.bytes,
        input: refs[i] as string,
      },
    }));
    await this.#options.router.send(routes, request.targets, request.strategy);
  }

  async getJob(jobId: string): Promise<JobView | undefined> {
    const [record, stats] = await Promise.all([
      this.#options.tasks.getJob(jobId),
      this.#options.stats.jobStats(jobId),
    ]);
    if (record === undefined) return undefined;
    const data = withPending(stats?.data ?? emptyStats(), record.chunksTotal);
    const updatedAt = Math.max(data.lastAt ?? record.createdAt, record.failed?.at ?? 0);
    return jobView(
      {
        ...record,
        updatedAt,
        total: record.chunksTotal,
        ...(record.failed && { failure: record.failed.reason }),
      },
      data,
    );
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
    const { tasks, inputs, results, router } = this.#options;
    return router.readiness({
      tasks: taskStoreProbe(tasks),
      inputs: () => inputs.probe(),
      results: () => results.probe(),
    });
  }
}

/** The stats count a task from its first claim; the job's total says how many are still waiting. */
const withPending = (data: StatsData, total: number | undefined): StatsData => {
  const waiting = Math.max(0, (total ?? data.tasks) - data.tasks);
  return {
    ...data,
    tasks: data.tasks + waiting,
    states: { ...data.states, pending: data.states.pending + waiting },
  };
};
