import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import { type JobRequest, type JobView, prepareJob, recordedRequest } from '../core/job.ts';
import { cancelApplies, type JobListCursor, rerunConflict } from '../core/job-operations.ts';
import { fanInOf } from '../core/pipeline/fan-in.ts';
import { outputCompression, type ResolvedStep, type StepRegistry } from '../core/pipeline/registry.ts';
import { type StatsReport, summarize, type TargetNow } from '../core/stats/report.ts';
import { type TargetView, targetViews } from '../core/stats/targets.ts';
import type { TaskRecord } from '../core/task.ts';
import { type ResultParts, readJobRejects, readJobResult } from '../lifecycle/job-result.ts';
import { taskStoreProbe } from '../lifecycle/readiness.ts';
import { JobConflictError, NoTargetAvailableError } from '../ports/errors.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import type { InputStore } from '../ports/input-store.ts';
import type { JobDescription, JobInput, JobListQuery, JobPage, JobService } from '../ports/job-service.ts';
import type { Readiness } from '../ports/readiness.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { StatsReader } from '../ports/stats-reader.ts';
import type { JobRecord, TaskStore } from '../ports/task-store.ts';
import { assertPublicCallback } from './callback-check.ts';
import { type IngestSteps, reasonOf } from './ingest-steps.ts';
import { cloudJobView, readJobView } from './job-views.ts';
import type { ChunkMessage } from './messages.ts';
import type { Route, Router } from './router.ts';

/** Job items read from the jobs index per page of `GET /jobs` at most, whatever the status filter keeps. */
const MAX_JOBS_READ_PER_PAGE = 1000;

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
  async submit(input: JobInput, request: JobRequest): Promise<{ jobId: string; ingested: Promise<unknown> }> {
    await this.#admit(request);
    const jobId = randomUUID();
    const body = 'path' in input ? createReadStream(input.path, { highWaterMark: 1 << 20 }) : input;
    const { source } = await this.#options.inputs.storeBody(jobId, body);
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
    return readJobView(this.#options.tasks, this.#options.stats, this.#options.router.costing, jobId);
  }

  /** The job's record with the stats the stats function aggregated. */
  async #view(record: JobRecord): Promise<JobView> {
    return cloudJobView(
      record,
      (await this.#options.stats.jobStats(record.jobId))?.data,
      this.#options.router.costing,
    );
  }

  /**
   * Pages of the jobs index, newest first, until `limit` jobs in `status` are found; a page reads at most
   * `MAX_JOBS_READ_PER_PAGE` job items, and says where to go on when more may follow: not when the index
   * ended within the items read, so the page with the last job carries no cursor.
   */
  async listJobs({ status, limit, after }: JobListQuery): Promise<JobPage> {
    const jobs: JobView[] = [];
    let cursor: JobListCursor | undefined = after;
    for (let read = 0; read < MAX_JOBS_READ_PER_PAGE; ) {
      const size = Math.min(100, MAX_JOBS_READ_PER_PAGE - read);
      const records = await this.#options.tasks.listJobs({ limit: size, ...(cursor && { after: cursor }) });
      for (const [i, record] of records.entries()) {
        read++;
        cursor = { createdAt: record.createdAt, jobId: record.jobId };
        const view = await this.#view(record);
        if (status === undefined || view.status === status) jobs.push(view);
        if (jobs.length === limit) {
          const more = i < records.length - 1 || records.length === size;
          return more ? { jobs, next: cursor } : { jobs };
        }
      }
      if (records.length < size) return { jobs };
    }
    return { jobs, ...(cursor && { next: cursor }) };
  }

  /** Records the cancel; the processors read it before each batch and cancel the job's waiting chunks. */
  async cancel(jobId: string): Promise<JobView | undefined> {
    const view = await this.getJob(jobId);
    if (view === undefined || !cancelApplies(view)) return view;
    const record = await this.#options.tasks.cancelJob(jobId, Date.now());
    return record && this.#view(record);
  }

  /** Re-opens the job's failed tasks and sends each one's next try, from the chunk its segment recorded. */
  async retry(jobId: string): Promise<{ chunks: number } | undefined> {
    const { tasks, router } = this.#options;
    const record = await tasks.getJob(jobId);
    if (record === undefined) return undefined;
    const view = await this.#view(record);
    const conflict = rerunConflict(view);
    if (conflict) throw new JobConflictError(jobId, conflict.slug, view.status, conflict.detail);
    const [failed, segments] = await Promise.all([
      tasks.listTasks(jobId, TaskState.failed),
      tasks.listSegments(jobId),
    ]);
    const now = Date.now();
    const routes: Route[] = [];
    for (const task of failed) {
      const segment = segments.find(
        (s) => task.index >= s.firstIndex && task.index < s.firstIndex + s.chunks.length,
      );
      const chunk = segment?.chunks[task.index - (segment?.firstIndex ?? 0)];
      const reopened = chunk && (await tasks.reopenTask(jobId, task.index, now));
      if (!reopened) continue;
      const tries = reopened.attempts.length;
      const previousTarget = reopened.attempts.at(-1)?.target;
      const message: ChunkMessage = {
        jobId,
        index: task.index,
        attempt: tries + 1,
        rerunFrom: tries,
        routedAt: now,
        sha256: chunk.sha256,
        bytes: chunk.bytes,
        input: chunk.input,
        ...(chunk.firstLine !== undefined && { firstLine: chunk.firstLine }),
        ...(previousTarget !== undefined && { previousTarget }),
      };
      routes.push({ message });
    }
    const request = recordedRequest(record.options);
    if (routes.length > 0) {
      // Recorded first: the job shows as running at once, and is back on the reconciler's list, so a
      // re-run's try that is lost is sent again like any other.
      await tasks.rerunJob(jobId, now);
      await router.send(routes, request);
    }
    return { chunks: routes.length };
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[] | undefined> {
    if ((await this.#options.tasks.getJob(jobId)) === undefined) return undefined;
    return this.#options.tasks.listTasks(jobId, state);
  }

  async *readResult(jobId: string): AsyncGenerator<Uint8Array> {
    const request = await this.#options.tasks
      .getJob(jobId)
      .then((job) => job && recordedRequest(job.options));
    yield* readJobResult(this.#resultParts, jobId, request && fanInOf(request.pipeline));
  }

  readRejects(jobId: string): AsyncIterable<Uint8Array> {
    return readJobRejects(this.#resultParts, jobId);
  }

  get #resultParts(): ResultParts {
    return { tasks: this.#options.tasks, results: this.#options.results };
  }

  async describe(jobId: string): Promise<JobDescription | undefined> {
    const record = await this.#options.tasks.getJob(jobId);
    if (record === undefined) return undefined;
    const request = recordedRequest(record.options);
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
    return (await this.#statsAndBreakers()).report;
  }

  /** Every target's shared breaker, with the stats of its tries. */
  async targets(): Promise<Record<string, TargetView>> {
    const { report, breakers } = await this.#statsAndBreakers();
    return targetViews(report, breakers);
  }

  async #statsAndBreakers(): Promise<{ report: StatsReport; breakers: TargetNow[] }> {
    const [data, breakers] = await Promise.all([
      this.#options.stats.overall(),
      this.#options.router.breakers(),
    ]);
    return { report: summarize(data, this.#options.router.costing, breakers), breakers };
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
