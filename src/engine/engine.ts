import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryIdempotencyStore } from '../adapters/local/memory-idempotency-store.ts';
import { Balancer } from '../core/balancer.ts';
import type { Priority, TaskState } from '../core/constants.ts';
import { chunkCostOn } from '../core/cost/costing.ts';
import { UsageError } from '../core/errors.ts';
import { type JobRequest, type JobView, jobView, prepareJob, recordedRequest } from '../core/job.ts';
import { cancelApplies, newestFirst, pageOf, rerunConflict } from '../core/job-operations.ts';
import { type ResolvedStep, StepRegistry } from '../core/pipeline/registry.ts';
import { type StatsReport, summarize } from '../core/stats/report.ts';
import { type TargetView, targetViews } from '../core/stats/targets.ts';
import type { TaskRecord } from '../core/task.ts';
import {
  type ReadResultOptions,
  type ResultParts,
  readJobRejects,
  readJobResult,
  storeCombined,
} from '../lifecycle/job-result.ts';
import { readiness, taskStoreProbe } from '../lifecycle/readiness.ts';
import { JobConflictError, NoTargetAvailableError } from '../ports/errors.ts';
import type { JobInput, JobListQuery, JobPage, SubmitOptions } from '../ports/job-service.ts';
import type { Readiness } from '../ports/readiness.ts';
import { fileBlocks } from '../util/file-blocks.ts';
import { Admission } from './admission.ts';
import { TargetDispatch } from './dispatch.ts';
import type { EngineIdempotency, EngineOptions, JobHandle } from './engine-options.ts';
import { JobBook } from './job-book.ts';
import { type FeedParts, ingest, reopenFailed } from './job-feed.ts';
import { JobRun } from './job-run.ts';
import { KeptBreakers } from './kept-breakers.ts';
import { resumeKeptJobs } from './resume.ts';
import { type EngineEvents, targetLifecycle } from './target-lifecycle.ts';
import { TargetRouting } from './target-routing.ts';
import { MAX_BATCH_BYTES, MAX_BATCH_TASKS, ThreadRunner } from './threads.ts';

/**
 * The embedded engine: the whole fan-out on one machine. Each target is a queue and a number of worker
 * slots on a shared pool of threads. The main thread chunks input into the arena (`Admission`), routes
 * each try through the balancer, and hands what a target's queue delivers to the same try lifecycle the
 * cloud functions run (`TryLifecycle`), which claims, stores, records and retries.
 */
export class Engine {
  readonly events = new EventEmitter<EngineEvents>();
  /** Where `Idempotency-Key`s are remembered: this process's memory unless the options keep them. */
  readonly idempotency: EngineIdempotency;
  readonly #options: EngineOptions;
  readonly #registry: StepRegistry;
  readonly #balancer: Balancer;
  readonly #admission: Admission;
  readonly #runner: ThreadRunner;
  readonly #targets: TargetRouting;
  readonly #book: JobBook;
  readonly #settling = new Set<Promise<void>>();
  #closing = false;
  readonly #closed = Promise.withResolvers<void>();
  /** A durable engine's breakers, kept across restarts. */
  readonly #breakers: KeptBreakers | undefined;
  /** What puts a job's chunks on the targets' queues: its ingest, and a re-run of its failed ones. */
  readonly #feed: FeedParts;

  private constructor(options: EngineOptions, registry: StepRegistry) {
    this.#options = options;
    this.#registry = registry;
    this.idempotency = options.kept?.idempotency ?? new MemoryIdempotencyStore();
    this.#balancer = new Balancer(
      options.targets.map((t) => ({
        name: t.name,
        weight: t.weight,
        capacity: t.workers,
        cost: chunkCostOn(options.costing, t.name),
      })),
      options.balancer,
      options.breaker,
    );
    this.#targets = new TargetRouting(this.#balancer, () => this.#closing);
    const names = options.targets.map((t) => t.name);
    this.#breakers = options.kept && new KeptBreakers(options.kept.health, this.#balancer, names);
    this.#admission = new Admission(options);
    this.#feed = {
      tasks: options.tasks,
      admission: this.#admission,
      send: (job, message, avoid, delayMs) => this.#targets.send(job, message, avoid, delayMs),
      ...(options.kept && { spool: options.kept.spool }),
    };
    this.#runner = new ThreadRunner(options.threads, this.#admission.arena.buffer, options.stopGraceMs);
    this.#book = new JobBook(
      options,
      this.idempotency,
      (jobId) => this.events.emit('expired', { jobId }),
      // A reader before it is written reduces the partials the same way: this only saves doing it again.
      (job) => this.#track(storeCombined(this.#resultParts, job.jobId, job.fanIn).catch(() => {})),
    );
    for (const target of options.targets) {
      const lifecycle = targetLifecycle(target.name, {
        tasks: options.tasks,
        results: options.results,
        jobs: this.#book.jobs,
        balancer: this.#balancer,
        admission: this.#admission,
        events: this.events,
        keepsInputs: options.kept !== undefined,
        breakerReported: (name) => this.#breakers?.reported(name),
        send: (job, message, avoid, delayMs) => this.#targets.send(job, message, avoid, delayMs),
      });
      this.#targets.add(
        new TargetDispatch(lifecycle, this.#runner, {
          workers: target.workers,
          shares: options.laneShares,
          duplicateRate: options.duplicateRate ?? 0,
          receiveMax: () => this.#receiveMax(),
          track: (work) => this.#track(work),
        }),
      );
    }
  }

  static async create(options: EngineOptions): Promise<Engine> {
    const registry = await StepRegistry.load(options.stepModules, options.baseDir);
    const engine = new Engine(options, registry);
    for (const target of engine.#targets.dispatches) target.start();
    return engine;
  }

  /** Settles once `close` has finished. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  get targetNames(): string[] {
    return this.#targets.names;
  }

  get pendingChunks(): number {
    return this.#admission.pendingChunks;
  }

  /** Checks a job request against the engine: steps, parameters, targets, attempts. Throws `UsageError`. */
  prepare(request: JobRequest): ResolvedStep[] {
    return prepareJob(this.#registry, this.targetNames, request);
  }

  /**
   * Starts a job on `input`. Resolves once the job exists; chunks are read as the engine has room
   * for them, so a large input never sits in memory. Each chunk is copied into the arena before the next
   * is cut, and the chunker keeps at most one chunk of earlier buffers, so an input may reuse a buffer of
   * 1 MiB or more two buffers later (see `fileBlocks`). A job whose targets' breakers are all open is
   * turned away with `NoTargetAvailableError`; one under way waits for a breaker to half-open instead.
   */
  async submit(input: JobInput, request: JobRequest, options: SubmitOptions = {}): Promise<JobHandle> {
    if (this.#closing) throw new UsageError('the engine is shutting down and takes no new jobs');
    const steps = this.prepare(request);
    const { targets } = request;
    if (!this.#balancer.accepts(targets)) {
      throw new NoTargetAvailableError(targets, this.#balancer.retryAfterMs(targets));
    }
    const job = this.#newRun(randomUUID(), request, steps);
    const { jobId } = job;
    const spool = this.#feed.spool;
    // A durable engine keeps the input before it records the job: a job recorded always has its input.
    if (spool) await spool.keep(jobId, input);
    const claim = options.idempotency;
    // Issued together, a durable store records the job and its key's binding in one transaction.
    await Promise.all([
      this.#options.tasks.createJob({ jobId, createdAt: job.createdAt, options: { ...request } }),
      claim && this.idempotency.complete(claim.key, claim.owner, jobId),
    ]);
    this.#adopt(job);
    const source = spool ? spool.read(jobId) : 'path' in input ? fileBlocks(input.path) : input;
    const ingested = ingest(job, source, this.#feed);
    ingested.catch((error: unknown) => this.#fail(job, error));
    const done = job.done.then(() => this.#view(job));
    // A caller that only watches `ingested` (the HTTP API) must not leave this rejection unhandled.
    done.catch(() => {});
    return { jobId, ingested, done };
  }

  /**
   * Takes up the jobs a durable engine's earlier process left (see `resumeKeptJobs`): those that ended
   * are served as they were, the others run on from where they stood. Call it once, after whatever
   * listens to `events` is listening. Resolves with how many jobs were taken up, and how many of them
   * run on.
   */
  async resume(): Promise<{ jobs: number; running: number }> {
    const { kept } = this.#options;
    if (kept === undefined) return { jobs: 0, running: 0 };
    await this.#breakers?.restore();
    const resumed = await resumeKeptJobs({
      kept,
      tasks: this.#options.tasks,
      feed: this.#feed,
      registry: this.#registry,
      prepare: (request) => this.prepare(request),
      newRun: (record, steps) =>
        this.#newRun(record.jobId, recordedRequest(record.options), steps, record.createdAt),
      adopt: (job, endedAt) => this.#adopt(job, endedAt),
      fail: (job, reason, error) => this.#fail(job, error, reason),
    });
    await this.#book.sweep();
    return resumed;
  }

  /**
   * Fails a job as a whole (its input stopped, or `reason`), in its run and in its record, so that a
   * restarted engine sees it failed too. A durable engine that is shutting down fails nothing: what
   * stopped its input is the shutdown, and the job runs on after the restart.
   */
  async #fail(job: JobRun, error: unknown, reason?: string): Promise<void> {
    if (this.#closing && this.#feed.spool) return;
    if (reason === undefined) job.abort(error);
    else job.fail(reason, error);
    await this.#options.tasks.failJob(job.jobId, job.failure as string, Date.now()).catch(() => {});
  }

  #newRun(jobId: string, request: JobRequest, steps: ResolvedStep[], createdAt?: number): JobRun {
    return JobRun.of({
      jobId,
      request,
      steps,
      modules: this.#registry.modules,
      retry: this.#options.retry,
      createdAt,
    });
  }

  /** Makes a job the engine's, until it expires (see `JobBook.add`), and says so. */
  #adopt(job: JobRun, endedAt?: number): void {
    this.#book.add(job, endedAt);
    this.events.emit('submitted', { jobId: job.jobId });
  }

  /** What a job was asked to do, and how its result is encoded. */
  describe(jobId: string): { request: JobRequest; compression?: string } | undefined {
    const job = this.#book.jobs.get(jobId);
    return job && { request: job.request, ...(job.compression && { compression: job.compression }) };
  }

  getJob(jobId: string): JobView | undefined {
    const job = this.#book.jobs.get(jobId);
    return job && this.#view(job);
  }

  async listJobs({ status, ...page }: JobListQuery): Promise<JobPage> {
    const runs = [...this.#book.jobs.values()].sort(newestFirst);
    const { items, next } = pageOf(runs, page, (job) => {
      const view = this.#view(job);
      return status === undefined || view.status === status ? view : undefined;
    });
    return { jobs: items, ...(next && { next }) };
  }

  /** Cancels a job (see `JobService.cancel`): its ingest stops, and each waiting chunk is cancelled as it comes up. */
  async cancel(jobId: string): Promise<JobView | undefined> {
    const job = this.#book.jobs.get(jobId);
    if (job === undefined) return undefined;
    if (cancelApplies(this.#view(job))) {
      const at = Date.now();
      job.cancel(at);
      await this.#options.tasks.cancelJob(jobId, at);
    }
    return this.#view(job);
  }

  /** Re-runs a job's failed chunks from the copies kept when they failed (see `reopenFailed`). */
  async retry(jobId: string): Promise<{ chunks: number } | undefined> {
    const job = this.#book.jobs.get(jobId);
    if (job === undefined) return undefined;
    const view = this.#view(job);
    const conflict = rerunConflict(view);
    if (conflict) throw new JobConflictError(jobId, conflict.slug, view.status, conflict.detail);
    // Recorded first: a combined result written before it is out of date from now on (see `readJobResult`).
    await this.#options.tasks.rerunJob(jobId, Date.now());
    const { reopened, sent } = await reopenFailed(job, this.#feed);
    this.#book.follow(job);
    this.events.emit('rerun', { jobId });
    this.#track(sent.catch((error: unknown) => this.#fail(job, error)));
    return { chunks: reopened.length };
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[] | undefined> {
    if (!this.#book.jobs.has(jobId)) return undefined;
    return this.#options.tasks.listTasks(jobId, state);
  }

  /** A finished job's result (see `readJobResult`): from chunk `from` on, for one laid end to end. */
  readResult(jobId: string, from = 0, options?: ReadResultOptions): AsyncIterable<Uint8Array> {
    return readJobResult(this.#resultParts, jobId, this.#book.jobs.get(jobId)?.fanIn, from, options);
  }

  /** A finished job's rejects, as NDJSON (see `readJobRejects`). */
  readRejects(jobId: string): AsyncIterable<Uint8Array> {
    return readJobRejects(this.#resultParts, jobId);
  }

  get #resultParts(): ResultParts {
    const { tasks, results, scratch } = this.#options;
    return { tasks, results, ...(scratch && { scratch }) };
  }

  /** Messages waiting in each target's queues, by lane. */
  queueDepths(): Promise<Record<string, Record<Priority, number>>> {
    return this.#targets.depths();
  }

  /** The task and result stores and each target's queue, probed, with each target's breaker and stuck tries. */
  readiness(): Promise<Readiness> {
    const { tasks, results } = this.#options;
    return readiness(
      { tasks: taskStoreProbe(tasks), results: () => results.probe() },
      this.#balancer,
      (name) => this.#targets.get(name).queue,
      this.#runner.stuck(),
    );
  }

  /** Stats over every job, with the current load of each target. */
  stats(): StatsReport {
    return summarize(this.#book.stats(), this.#options.costing, this.#balancer.loads());
  }

  targets(): Record<string, TargetView> {
    const loads = this.#balancer.loads();
    return targetViews(summarize(this.#book.stats(), this.#options.costing, loads), loads);
  }

  #view(job: JobRun): JobView {
    const loads = this.#balancer.loads().filter((l) => job.request.targets.includes(l.name));
    return jobView(job, job.stats.snapshot(), this.#options.costing, loads);
  }

  /**
   * Stops taking work, lets the tries already on worker threads finish and record their outcome for up
   * to `shutdownGraceMs`, then ends the threads: a try still running then is recorded as crashed. Chunks
   * still queued are not run.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#shutDown().then(this.#closed.resolve, this.#closed.reject);
    }
    return this.#closed.promise;
  }

  /**
   * Lets go of the stores, which `close` leaves open for the results to be read: `fanout run` and `fanout
   * serve` call this last. A durable engine closes its data directory (and its lock). One that keeps its
   * task records in memory deletes the outputs of every job it ran: nothing could find them once its
   * process ends.
   */
  async closeStores(): Promise<void> {
    if (this.#options.kept) return this.#options.kept.close();
    await Promise.all([...this.#book.jobs.keys()].map((jobId) => this.#options.results.delete(jobId)));
  }

  async #shutDown(): Promise<void> {
    this.#book.stop();
    this.#admission.stop();
    await Promise.all(this.#targets.dispatches.map((t) => t.stop()));
    const grace = new AbortController();
    await Promise.race([
      this.#settled(),
      sleep(this.#options.shutdownGraceMs, undefined, { signal: grace.signal }).catch(() => {}),
    ]);
    grace.abort();
    await this.#runner.destroy({ leaveCut: this.#options.kept !== undefined });
    await this.#settled();
    this.#admission.close();
  }

  /**
   * Tries to take at once: one batch's worth of the largest chunks of the jobs under way. A larger
   * delivery would be cut into several batches, all in flight together, which only adds memory.
   */
  #receiveMax(): number {
    let largest = 1;
    for (const job of this.#book.unfinished) largest = Math.max(largest, job.request.chunking.size);
    return Math.min(MAX_BATCH_TASKS, Math.max(1, Math.floor(MAX_BATCH_BYTES / largest)));
  }

  async #settled(): Promise<void> {
    while (this.#settling.size > 0) await Promise.all(this.#settling);
  }

  #track(work: Promise<void>): void {
    const tracked = work.finally(() => this.#settling.delete(tracked));
    this.#settling.add(tracked);
  }
}
