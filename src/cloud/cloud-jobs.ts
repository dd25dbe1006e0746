import { randomUUID } from 'node:crypto';
import { readJobResult } from '../adapters/result-reading.ts';
import { type Chunk, chunkStream } from '../core/chunker.ts';
import { MiB, type TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import { type JobRequest, type JobView, jobView, prepareJob } from '../core/job.ts';
import { outputCompression, type ResolvedStep, type StepRegistry } from '../core/pipeline/registry.ts';
import { type StatsReport, summarize } from '../core/stats/report.ts';
import { emptyStats, type StatsData } from '../core/stats/stats.ts';
import type { TaskRecord } from '../core/task.ts';
import type { JobService } from '../ports/job-service.ts';
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
}

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

  async submit(
    input: AsyncIterable<Uint8Array>,
    request: JobRequest,
  ): Promise<{ jobId: string; ingested: Promise<number> }> {
    this.prepare(request);
    const jobId = randomUUID();
    await this.#options.tasks.createJob({ jobId, createdAt: Date.now(), options: { ...request } });
    const limit = this.#options.segmentBytes ?? 8 * MiB;
    let segment: Chunk[] = [];
    let bytes = 0;
    let total = 0;
    for await (const chunk of chunkStream(input, jobId, request.chunking)) {
      segment.push(chunk);
      bytes += chunk.bytes;
      total++;
      if (bytes >= limit) {
        await this.#enqueue(jobId, segment, request);
        segment = [];
        bytes = 0;
      }
    }
    if (segment.length > 0) await this.#enqueue(jobId, segment, request);
    await this.#options.tasks.setJobTotal(jobId, total);
    return { jobId, ingested: Promise.resolve(total) };
  }

  async #enqueue(jobId: string, chunks: readonly Chunk[], request: JobRequest): Promise<void> {
    const refs = await this.#options.inputs.put(
      jobId,
      chunks.map((chunk) => chunk.data),
    );
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
    const updatedAt = data.lastAt ?? record.createdAt;
    return jobView({ ...record, updatedAt, total: record.chunksTotal }, data);
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[] | undefined> {
    if ((await this.#options.tasks.getJob(jobId)) === undefined) return undefined;
    return this.#options.tasks.listTasks(jobId, state);
  }

  readResult(jobId: string): AsyncIterable<Uint8Array> {
    return readJobResult(this.#options.tasks, this.#options.results, jobId);
  }

  async describe(jobId: string): Promise<{ request: JobRequest; compression?: string } | undefined> {
    const record = await this.#options.tasks.getJob(jobId);
    if (record === undefined) return undefined;
    const request = record.options as unknown as JobRequest;
    const compression = outputCompression(this.prepare(request));
    return { request, ...(compression && { compression }) };
  }

  async stats(): Promise<StatsReport> {
    return summarize(await this.#options.stats.overall());
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
