import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Piscina } from 'piscina';
import { MemoryQueue } from '../adapters/local/memory-queue.ts';
import { readJobResult } from '../adapters/result-reading.ts';
import { Balancer, type BalancerOptions } from '../core/balancer.ts';
import type { BreakerOptions } from '../core/breaker.ts';
import { chunkStream } from '../core/chunker.ts';
import { TaskState } from '../core/constants.ts';
import { type ErrorRecord, toErrorRecord, UsageError, WorkerCrashedError } from '../core/errors.ts';
import { outputCompression, type ResolvedStep, StepRegistry } from '../core/pipeline/registry.ts';
import { type RetryOptions, RetryPolicy } from '../core/retry.ts';
import { type StatsReport, summarize } from '../core/stats/report.ts';
import { type AttemptEnd, emptyStats, mergeStats } from '../core/stats/stats.ts';
import type { TaskRecord } from '../core/task.ts';
import type { Delivery } from '../ports/queue.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';
import { ChunkArena, MAX_BLOCK } from './arena.ts';
import { type JobRequest, JobRun, type JobView, jobView, prepareJob } from './job.ts';
import {
  outcomesOf,
  type TaskMessage,
  type TaskOutcome,
  type WorkerBatch,
  type WorkerReply,
} from './messages.ts';

export interface EngineTarget {
  name: string;
  /** Tries this target runs at once: its capacity, which the balancer's load is measured against. */
  workers: number;
  /** Share of the work under the `weighted` strategy. */
  weight: number;
}

export interface EngineOptions {
  targets: EngineTarget[];
  /**
   * Worker threads, shared by all targets. More threads than cores only adds memory and contention, so
   * a target's `workers` are slots on these threads, not threads of its own.
   */
  threads: number;
  balancer: BalancerOptions;
  breaker: BreakerOptions;
  /** Defaults for jobs; a job may set its own `maxAttempts`. */
  retry: RetryOptions;
  /**
   * Chunks accepted and not yet finished, across all jobs, before ingest waits: the backpressure bound.
   * Ingest also waits once those chunks hold `maxPendingBytes`, so that the bound on memory does not grow
   * with the chunk size, nor the bound on chunks shrink with it.
   */
  maxPendingChunks: number;
  maxPendingBytes: number;
  /** Custom step modules, resolved from `baseDir`. */
  stepModules: string[];
  baseDir: string;
  tasks: TaskStore;
  results: ResultStore;
  /** Fault injection for tests: the chance that a queue hands a message out twice. */
  duplicateRate?: number;
}

export interface EngineEvents {
  attempt: [AttemptEnd & { jobId: string; index: number }];
  duplicate: [{ jobId: string; target: string }];
  redistributed: [{ jobId: string; target: string; from: string }];
  /** A chunk's output, once its task has completed: a view, for a listener to use or copy at once. */
  output: [{ jobId: string; index: number; data: Uint8Array }];
}

export interface JobHandle {
  jobId: string;
  /** Settles with the chunk count once the whole input has been read and enqueued. */
  ingested: Promise<number>;
  /** Settles when every chunk has ended, completed or failed; rejects if the input could not be read. */
  done: Promise<JobView>;
}

interface TargetRun {
  name: string;
  queue: MemoryQueue<TaskMessage>;
  /** Deliveries being worked on, each one or a few batches: at most `workers`. */
  busy: number;
  workers: number;
  wake?: () => void;
  loop?: Promise<void>;
}

/** A batch's reply with its outcomes as one object per task. */
interface BatchResult {
  workerId: string;
  outcomes: TaskOutcome[];
  output: Uint8Array;
}

interface Claimed {
  delivery: Delivery<TaskMessage>;
  job: JobRun;
  claimId: string;
}

/** Visibility of a message being processed: far longer than any batch, so only a lost one comes back. */
const VISIBILITY_MS = 10 * 60_000;
const MAX_BATCH_TASKS = 128;
const MAX_BATCH_BYTES = 1024 * 1024;
const IDLE_POLL_MS = 50;

/**
 * The embedded engine: the whole fan-out on one machine. Each target is a queue and a number of worker
 * slots on a shared pool of threads; the main thread chunks input, routes chunks through the balancer, claims and settles tries
 * in the task store, and retries failures with backoff on another target. The same core rules the
 * cloud functions use decide every step.
 */
export class Engine {
  readonly events = new EventEmitter<EngineEvents>();
  readonly #options: EngineOptions;
  readonly #registry: StepRegistry;
  readonly #balancer: Balancer;
  readonly #pool: Piscina;
  readonly #targets = new Map<string, TargetRun>();
  readonly #jobs = new Map<string, JobRun>();
  /** The jobs not yet done: `#jobs` keeps every job for its status, and grows with a server's life. */
  readonly #unfinished = new Set<JobRun>();
  readonly #settling = new Set<Promise<void>>();
  readonly #admissionWaiters: (() => void)[] = [];
  readonly #arena: ChunkArena;
  #pending = 0;
  #pendingBytes = 0;
  #closing = false;
  readonly #closed = Promise.withResolvers<void>();

  private constructor(options: EngineOptions, registry: StepRegistry) {
    this.#options = options;
    this.#registry = registry;
    this.#balancer = new Balancer(
      options.targets.map((t) => ({ name: t.name, weight: t.weight, capacity: t.workers })),
      options.balancer,
      options.breaker,
    );
    // Blocks round a chunk up to a power of two, so the pending bytes take at most twice their size, and
    // a chunk over the byte bound still fits once everything before it has ended.
    this.#arena = new ChunkArena(2 * options.maxPendingBytes + MAX_BLOCK);
    this.#pool = new Piscina({
      // Next to this module: worker.ts when run from source (tests), worker.js in the bundle (dist/).
      filename: new URL(import.meta.url.endsWith('.ts') ? 'worker.ts' : 'worker.js', import.meta.url).href,
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // A thread's next batch waits on the thread (worker.ts runs them in turn), not on the main thread.
      concurrentTasksPerWorker: 2,
      workerData: this.#arena.buffer,
      // Chunks live outside the V8 heap: a larger nursery only grows memory with the input.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    for (const target of options.targets) {
      this.#targets.set(target.name, {
        name: target.name,
        queue: new MemoryQueue<TaskMessage>({ duplicateRate: options.duplicateRate ?? 0 }),
        busy: 0,
        workers: target.workers,
      });
    }
  }

  static async create(options: EngineOptions): Promise<Engine> {
    const registry = await StepRegistry.load(options.stepModules, options.baseDir);
    const engine = new Engine(options, registry);
    for (const target of engine.#targets.values()) target.loop = engine.#dispatchLoop(target);
    return engine;
  }

  /** Settles once `close` has finished. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  get targetNames(): string[] {
    return [...this.#targets.keys()];
  }

  get pendingChunks(): number {
    return this.#pending;
  }

  /** Checks a job request against the engine: steps, parameters, targets, attempts. Throws `UsageError`. */
  prepare(request: JobRequest): ResolvedStep[] {
    return prepareJob(this.#registry, this.targetNames, request);
  }

  /**
   * Starts a job on `input`. Resolves once the job exists; chunks are read as the engine has room
   * for them, so a large input never sits in memory. Each chunk is copied into the arena before the next
   * is cut, and the chunker keeps at most one chunk of earlier buffers, so an input may reuse a buffer of
   * 1 MiB or more two buffers later (see `fileBlocks`).
   */
  async submit(input: AsyncIterable<Uint8Array>, request: JobRequest): Promise<JobHandle> {
    if (this.#closing) throw new UsageError('the engine is shutting down and takes no new jobs');
    const steps = this.prepare(request);
    const jobId = randomUUID();
    const job = new JobRun(
      jobId,
      request,
      {
        key: JSON.stringify([request.pipeline, request.chunking.mode]),
        steps: request.pipeline,
        modules: this.#registry.modules,
        mode: request.chunking.mode,
      },
      new RetryPolicy({ ...this.#options.retry, maxAttempts: request.maxAttempts }),
      outputCompression(steps),
    );
    await this.#options.tasks.createJob({ jobId, createdAt: job.createdAt, options: { ...request } });
    this.#jobs.set(jobId, job);
    this.#unfinished.add(job);
    const forget = () => this.#unfinished.delete(job);
    job.done.then(forget, forget);
    const ingested = this.#ingest(job, input);
    ingested.catch((error: unknown) => job.abort(error));
    const done = job.done.then(() => this.#view(job));
    // A caller that only watches `ingested` (the HTTP API) must not leave this rejection unhandled.
    done.catch(() => {});
    return { jobId, ingested, done };
  }

  /** What a job was asked to do, and how its result is encoded. */
  describe(jobId: string): { request: JobRequest; compression?: string } | undefined {
    const job = this.#jobs.get(jobId);
    return job && { request: job.request, ...(job.compression && { compression: job.compression }) };
  }

  getJob(jobId: string): JobView | undefined {
    const job = this.#jobs.get(jobId);
    return job && this.#view(job);
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[] | undefined> {
    if (!this.#jobs.has(jobId)) return undefined;
    return this.#options.tasks.listTasks(jobId, state);
  }

  /** The concatenated outputs of a finished job's chunks, in chunk order, from chunk `from` on (see `readJobResult`). */
  readResult(jobId: string, from = 0): AsyncIterable<Uint8Array> {
    return readJobResult(this.#options.tasks, this.#options.results, jobId, from);
  }

  /** Messages waiting in each target's queue. */
  async queueDepths(): Promise<Record<string, number>> {
    const targets = [...this.#targets.values()];
    const depths = await Promise.all(targets.map((t) => t.queue.depth()));
    return Object.fromEntries(targets.map((t, i) => [t.name, depths[i] ?? 0]));
  }

  /** Stats over every job, with the current load of each target. */
  stats(): StatsReport {
    let data = emptyStats();
    for (const job of this.#jobs.values()) data = mergeStats(data, job.stats.snapshot());
    return summarize(data, this.#balancer.loads());
  }

  #view(job: JobRun): JobView {
    const loads = this.#balancer.loads().filter((l) => job.request.targets.includes(l.name));
    return jobView(job, job.stats.snapshot(), loads);
  }

  /**
   * Stops taking work, lets the tries already on worker threads finish and record their outcome,
   * then stops the threads. Chunks still queued are not run.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#shutDown().then(this.#closed.resolve, this.#closed.reject);
    }
    return this.#closed.promise;
  }

  /**
   * Deletes the outputs of every job this engine ran. The embedded engine keeps its task records in memory,
   * so once its process ends nothing can find those outputs again: `fanout run` and `fanout serve` call
   * this last, after the engine has closed and every result has been read.
   */
  async discardResults(): Promise<void> {
    await Promise.all([...this.#jobs.keys()].map((jobId) => this.#options.results.delete(jobId)));
  }

  async #shutDown(): Promise<void> {
    for (const target of this.#targets.values()) {
      target.queue.close();
      target.wake?.();
    }
    await Promise.all([...this.#targets.values()].map((t) => t.loop));
    while (this.#settling.size > 0) await Promise.all(this.#settling);
    await this.#pool.destroy();
    for (const waiter of this.#admissionWaiters.splice(0)) waiter();
  }

  async #ingest(job: JobRun, input: AsyncIterable<Uint8Array>): Promise<number> {
    const chunks = chunkStream(input, job.jobId, job.request.chunking);
    let total = 0;
    for await (const chunk of chunks) {
      const data = await this.#admit(chunk.data);
      if (data === undefined) throw new UsageError('the engine shut down before the input was read');
      const task: TaskRecord = {
        jobId: job.jobId,
        index: chunk.index,
        state: TaskState.pending,
        bytes: chunk.bytes,
        sha256: chunk.sha256,
        attempts: [],
        updatedAt: Date.now(),
      };
      await this.#options.tasks.putTasks([task]);
      job.stats.taskCreated(chunk.bytes);
      this.#pending++;
      this.#pendingBytes += chunk.bytes;
      const message: TaskMessage = {
        jobId: job.jobId,
        index: chunk.index,
        attempt: 1,
        sha256: chunk.sha256,
        bytes: chunk.bytes,
        data,
        routedAt: 0,
      };
      await this.#send(job, message, undefined, 0);
      total++;
    }
    await this.#options.tasks.setJobTotal(job.jobId, total);
    job.ingested(total);
    return total;
  }

  /**
   * Waits while the engine holds as many unfinished chunks, or as many of their bytes, as it may, or has
   * no block free for this one; then copies it into the arena. `undefined` once the engine is closing.
   */
  async #admit(data: Uint8Array): Promise<Uint8Array | undefined> {
    const { maxPendingChunks, maxPendingBytes } = this.#options;
    while (!this.#closing) {
      const block =
        this.#pending < maxPendingChunks && this.#pendingBytes < maxPendingBytes
          ? this.#arena.copyIn(data)
          : undefined;
      if (block !== undefined) return block;
      await new Promise<void>((resolve) => this.#admissionWaiters.push(resolve));
    }
    return undefined;
  }

  /** Routes a try to a target the balancer picks, waiting for a breaker to half-open if all are open. */
  async #send(job: JobRun, message: TaskMessage, avoid: string | undefined, delayMs: number): Promise<void> {
    const { targets: among, strategy } = job.request;
    for (;;) {
      const target = this.#balancer.pick({ avoid, among, strategy });
      if (target !== undefined) {
        const routed = { ...message, routedAt: Date.now() };
        return (this.#targets.get(target) as TargetRun).queue.send([{ body: routed, delayMs }]);
      }
      if (this.#closing) return;
      await sleep(Math.max(25, this.#balancer.nextProbeAt(among) - Date.now()));
    }
  }

  /**
   * Takes what the queue holds whenever one of the target's workers is free. While all are busy the
   * queue fills, so the next receive makes a full batch: batches grow with load, and one message to a
   * thread carries many tasks.
   */
  async #dispatchLoop(target: TargetRun): Promise<void> {
    while (!this.#closing) {
      if (target.busy >= target.workers) {
        await new Promise<void>((resolve) => {
          target.wake = resolve;
        });
        continue;
      }
      const deliveries = await target.queue.receive({
        max: this.#receiveMax(),
        waitMs: IDLE_POLL_MS,
        visibilityMs: VISIBILITY_MS,
      });
      if (deliveries.length === 0 || this.#closing) continue;
      target.busy++;
      let freed = false;
      const free = () => {
        if (freed) return;
        freed = true;
        target.busy--;
        target.wake?.();
      };
      this.#track(this.#process(target, deliveries, free).finally(free));
    }
  }

  /**
   * Tries to take at once: one batch's worth of the largest chunks of the jobs under way. A larger
   * delivery would be cut into several batches, all in flight together, which only adds memory.
   */
  #receiveMax(): number {
    let largest = 1;
    for (const job of this.#unfinished) largest = Math.max(largest, job.request.chunking.size);
    return Math.min(MAX_BATCH_TASKS, Math.max(1, Math.floor(MAX_BATCH_BYTES / largest)));
  }

  #track(work: Promise<void>): void {
    const tracked = work.finally(() => this.#settling.delete(tracked));
    this.#settling.add(tracked);
  }

  async #process(target: TargetRun, deliveries: Delivery<TaskMessage>[], freed: () => void): Promise<void> {
    const claimed: Claimed[] = [];
    const now = Date.now();
    for (const delivery of deliveries) {
      const message = delivery.body;
      const job = this.#jobs.get(message.jobId);
      const claimId = `${target.name}:${delivery.receipt}`;
      const claim =
        job &&
        (await this.#options.tasks.claim({
          jobId: message.jobId,
          index: message.index,
          attempt: message.attempt,
          target: target.name,
          workerId: target.name,
          claimId,
          now,
          leaseMs: VISIBILITY_MS,
          bytes: message.bytes,
          sha256: message.sha256,
        }));
      if (job === undefined || !claim?.claimed) {
        job?.stats.duplicateDropped();
        this.events.emit('duplicate', { jobId: message.jobId, target: target.name });
        await target.queue.ack([delivery.receipt]);
        continue;
      }
      job.stats.attemptStarted(target.name, message.attempt, message.previousTarget, now);
      if (message.previousTarget !== undefined && message.previousTarget !== target.name) {
        this.events.emit('redistributed', {
          jobId: job.jobId,
          target: target.name,
          from: message.previousTarget,
        });
      }
      job.touch();
      claimed.push({ delivery, job, claimId });
    }
    const batches = this.#batches(claimed);
    const replies = await Promise.all(batches.map((batch) => this.#execute(target, batch)));
    // The worker is free once the replies are in. Settling may wait (a retry waits for a breaker to let
    // work through), and the probe it waits for may be in this very queue: the loop must go on pulling.
    freed();
    await Promise.all(batches.map((batch, i) => this.#settleBatch(target, batch, replies[i] as BatchResult)));
  }

  /** Groups claimed tries by job and cuts them into batches small enough to keep every worker busy. */
  #batches(claimed: Claimed[]): Claimed[][] {
    const batches: Claimed[][] = [];
    const open = new Map<JobRun, { items: Claimed[]; bytes: number }>();
    for (const item of claimed) {
      let batch = open.get(item.job);
      if (batch === undefined || batch.items.length >= MAX_BATCH_TASKS || batch.bytes >= MAX_BATCH_BYTES) {
        batch = { items: [], bytes: 0 };
        open.set(item.job, batch);
        batches.push(batch.items);
      }
      batch.items.push(item);
      batch.bytes += item.delivery.body.bytes;
    }
    return batches;
  }

  /** Runs a batch on a worker thread and reports each outcome's health to the balancer, in task order. */
  async #execute(target: TargetRun, items: Claimed[]): Promise<BatchResult> {
    const job = (items[0] as Claimed).job;
    const tries = items.map((item) => item.delivery.body);
    const batch: WorkerBatch = {
      recipe: job.recipe,
      target: target.name,
      jobId: job.jobId,
      jobStartedAt: job.createdAt,
      indexes: tries.map((t) => t.index),
      attempts: tries.map((t) => t.attempt),
      lengths: tries.map((t) => t.bytes),
      sha256: tries.map((t) => t.sha256).join(''),
      offsets: tries.map((t) => t.data.byteOffset),
    };
    let result: BatchResult;
    try {
      const reply = (await this.#pool.run(batch)) as WorkerReply;
      result = { workerId: reply.workerId, outcomes: outcomesOf(reply), output: reply.output };
    } catch (cause) {
      const error = toErrorRecord(new WorkerCrashedError(target.name, { cause }));
      result = {
        workerId: `${target.name}-crashed`,
        outcomes: items.map(() => ({ ok: false, error, durationMs: 0 })),
        output: new Uint8Array(0),
      };
    }
    // Health is reported in task order as the batch returns, before the outcomes are stored: storage
    // finishes failures first, and that order would look like a run of failures to the breaker.
    for (const [i, item] of items.entries()) {
      const outcome = result.outcomes[i] as TaskOutcome;
      const health = outcome.ok ? 'success' : outcome.error.retryable ? 'failure' : 'neutral';
      this.#balancer.release(target.name, health, item.delivery.body.routedAt);
    }
    return result;
  }

  /**
   * Stores the batch's outputs as one unit, then ends each try; the refs go on the completed tasks, and
   * the outputs themselves to the `output` listeners.
   */
  async #settleBatch(target: TargetRun, items: Claimed[], reply: BatchResult): Promise<void> {
    const outputs: Uint8Array[] = [];
    let offset = 0;
    for (const outcome of reply.outcomes) {
      if (!outcome.ok) continue;
      outputs.push(reply.output.subarray(offset, offset + outcome.length));
      offset += outcome.length;
    }
    // The outputs are stored before any task says completed: a completed task always has its result.
    const refs =
      outputs.length > 0 ? await this.#options.results.put((items[0] as Claimed).job.jobId, outputs) : [];
    let stored = 0;
    await Promise.all(
      items.map((item, i) => {
        const outcome = reply.outcomes[i] as TaskOutcome;
        const output = outcome.ok
          ? { ref: refs[stored] as string, data: outputs[stored] as Uint8Array }
          : undefined;
        if (outcome.ok) stored++;
        return this.#settle(target, item, outcome, output, reply.workerId);
      }),
    );
  }

  async #settle(
    target: TargetRun,
    { delivery, job, claimId }: Claimed,
    outcome: TaskOutcome,
    output: { ref: string; data: Uint8Array } | undefined,
    workerId: string,
  ): Promise<void> {
    const message = delivery.body;
    const key = { jobId: message.jobId, index: message.index, attempt: message.attempt, claimId, workerId };
    const endedAt = Date.now();
    const end = {
      jobId: job.jobId,
      index: message.index,
      target: target.name,
      attempt: message.attempt,
      startedAt: endedAt - outcome.durationMs,
      endedAt,
      durationMs: outcome.durationMs,
      bytesIn: message.bytes,
    };
    if (outcome.ok && output !== undefined) {
      const finished = await this.#options.tasks.finish({
        ...key,
        outcome: TaskState.completed,
        now: endedAt,
        bytesOut: output.data.byteLength,
        result: output.ref,
      });
      if (finished) {
        this.#ended(job, message, { ...end, outcome: TaskState.completed, bytesOut: output.data.byteLength });
        this.events.emit('output', { jobId: job.jobId, index: message.index, data: output.data });
      }
    } else if (!outcome.ok) {
      await this.#fail(target, job, message, key, end, outcome.error);
    }
    await target.queue.ack([delivery.receipt]);
  }

  async #fail(
    target: TargetRun,
    job: JobRun,
    message: TaskMessage,
    key: { jobId: string; index: number; attempt: number; claimId: string; workerId: string },
    end: Omit<AttemptEnd, 'outcome'> & { jobId: string; index: number },
    error: ErrorRecord,
  ): Promise<void> {
    const decision = job.retry.decide(error, message.attempt);
    const outcome = decision.retry ? TaskState.retrying : TaskState.failed;
    const finished = await this.#options.tasks.finish({ ...key, outcome, now: end.endedAt, error });
    if (!finished) return;
    this.#ended(job, message, { ...end, outcome, retryable: error.retryable });
    if (!decision.retry) return;
    const retry: TaskMessage = { ...message, attempt: message.attempt + 1, previousTarget: target.name };
    const avoid = job.retry.options.redistribute ? target.name : undefined;
    await this.#send(job, retry, avoid, decision.delayMs);
  }

  #ended(job: JobRun, message: TaskMessage, end: AttemptEnd & { jobId: string; index: number }): void {
    job.stats.attemptEnded(end);
    this.events.emit('attempt', end);
    if (end.outcome === TaskState.retrying) {
      job.touch();
      return;
    }
    job.taskFinished(end.outcome === TaskState.failed);
    this.#pending--;
    this.#pendingBytes -= end.bytesIn;
    this.#arena.release(message.data);
    this.#admissionWaiters.shift()?.();
  }
}
