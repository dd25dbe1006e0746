import { Piscina } from 'piscina';
import { TryStoppedError, toErrorRecord, WorkerCrashedError } from '../core/errors.ts';
import type { Ran, Taken } from '../lifecycle/try-types.ts';
import type { StuckTry } from '../ports/readiness.ts';
import { DeadlineBoard, type LateTry } from './deadlines.ts';
import type { JobRun } from './job-run.ts';
import {
  outcomesOf,
  type TaskMessage,
  type WorkerBatch,
  type WorkerData,
  type WorkerReply,
} from './messages.ts';

type EngineTaken = Taken<TaskMessage, JobRun>;
type EngineRan = Ran<TaskMessage, JobRun>;

export const MAX_BATCH_TASKS = 128;
export const MAX_BATCH_BYTES = 1024 * 1024;
/** How long a try may run past its deadline before its thread is ended. */
export const DEFAULT_STOP_GRACE_MS = 1000;
/** How often the deadlines are read: a try is stopped at most this long after its grace. */
const WATCH_INTERVAL_MS = 100;
/** What piscina rejects a batch with when the thread it waited on was ended (for another batch's try). */
const THREAD_ENDED = 'Terminating worker thread';

/** A batch on its way to a thread or on one. */
interface Flight {
  target: string;
  items: readonly EngineTaken[];
  controller: AbortController;
  /** The try that overran: the batch was aborted, which ended its thread. */
  stopped?: LateTry;
}

/**
 * The worker threads every target shares. Tries go to a thread in batches of one job, as columns, and
 * their outputs come back in one buffer; the chunks themselves stay in the arena the threads share.
 */
export class ThreadRunner {
  readonly #pool: Piscina;
  readonly #deadlines = new DeadlineBoard();
  readonly #flights = new Map<number, Flight>();
  readonly #stopGraceMs: number;
  readonly #watch: NodeJS.Timeout;
  #lastBatch = 0;
  #destroying = false;
  #leaveCut = false;

  /** @param stopGraceMs how long a try may run past its deadline before its thread is ended */
  constructor(threads: number, arena: SharedArrayBuffer, stopGraceMs = DEFAULT_STOP_GRACE_MS) {
    this.#stopGraceMs = stopGraceMs;
    const workerData: WorkerData = { arena, deadlines: this.#deadlines.buffer };
    this.#pool = new Piscina({
      // Next to this module: worker.ts when run from source (tests), worker.js in the bundle (dist/).
      filename: new URL(import.meta.url.endsWith('.ts') ? 'worker.ts' : 'worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // A thread's next batch waits on the thread (worker.ts runs them in turn), not on the main thread.
      concurrentTasksPerWorker: 2,
      workerData,
      // Chunks live outside the V8 heap: a larger nursery only grows memory with the input.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.#watch = setInterval(() => this.#stopOverruns(), WATCH_INTERVAL_MS).unref();
  }

  /** Runs the tries in batches, all at once; each batch is a unit whose outputs are stored together. */
  run(target: string, taken: readonly EngineTaken[]): Promise<EngineRan[][]> {
    return Promise.all(batchesOf(taken).map((batch) => this.#runBatch(target, batch)));
  }

  /** The tries running past their deadline whose thread has not been ended yet. */
  stuck(now = Date.now()): StuckTry[] {
    return this.#deadlines.lateAt(now).flatMap((late) => {
      const flight = this.#flights.get(late.batch);
      const item = flight?.items[late.position];
      if (flight === undefined || flight.stopped !== undefined || item === undefined) return [];
      const { jobId, index, attempt } = item.delivery.message;
      return [
        {
          thread: `${flight.target}-${late.threadId}`,
          jobId,
          index,
          attempt,
          overdueMs: now - late.deadline,
        },
      ];
    });
  }

  /**
   * Ends the threads at once: a batch still on one fails as if its thread had crashed, or, with
   * `leaveCut` (a durable engine, whose next process takes those tries over), is returned as not run: its
   * tries stay claimed and unrecorded, costing no attempt and saying nothing of their target's health.
   */
  destroy({ leaveCut = false }: { leaveCut?: boolean } = {}): Promise<void> {
    this.#destroying = true;
    this.#leaveCut = leaveCut;
    clearInterval(this.#watch);
    return this.#pool.destroy();
  }

  /** Aborts each batch whose try overran its deadline and its grace: piscina ends that batch's thread. */
  #stopOverruns(): void {
    for (const late of this.#deadlines.lateAt(Date.now() - this.#stopGraceMs)) {
      const flight = this.#flights.get(late.batch);
      if (flight === undefined || flight.stopped !== undefined) continue;
      flight.stopped = late;
      this.#deadlines.idle(late.threadId);
      flight.controller.abort();
    }
  }

  async #runBatch(target: string, items: readonly EngineTaken[]): Promise<EngineRan[]> {
    const job = (items[0] as EngineTaken).job;
    const tries = items.map((item) => item.delivery.message);
    const id = ++this.#lastBatch;
    const flight: Flight = { target, items, controller: new AbortController() };
    const batch: WorkerBatch = {
      id,
      recipe: job.recipe,
      target,
      jobId: job.jobId,
      jobStartedAt: job.createdAt,
      indexes: tries.map((t) => t.index),
      attempts: tries.map((t) => t.attempt),
      lengths: tries.map((t) => t.bytes),
      sha256: tries.map((t) => t.sha256).join(''),
      offsets: tries.map((t) => t.data.byteOffset),
      firstLines: tries.map((t) => t.firstLine ?? 0),
    };
    let reply: WorkerReply;
    this.#flights.set(id, flight);
    try {
      reply = (await this.#pool.run(batch, { signal: flight.controller.signal })) as WorkerReply;
    } catch (cause) {
      return this.#lost(flight, cause);
    } finally {
      this.#flights.delete(id);
    }
    const { workerId, output } = reply;
    let offset = 0;
    return outcomesOf(reply).map((outcome, i): EngineRan => {
      const taken = items[i] as EngineTaken;
      if (!outcome.ok)
        return { taken, ok: false, error: outcome.error, durationMs: outcome.durationMs, workerId };
      const data = output.subarray(offset, offset + outcome.length);
      offset += outcome.length;
      const ran: EngineRan = { taken, ok: true, output: data, durationMs: outcome.durationMs, workerId };
      if (outcome.rejectsLength === 0) return ran;
      const rejects = output.subarray(offset, offset + outcome.rejectsLength);
      offset += outcome.rejectsLength;
      return { ...ran, rejects: { count: outcome.rejected, data: rejects } };
    });
  }

  /**
   * The tries of a batch whose thread went. The try that overran fails; the others did not fail, so they
   * run again on another thread with the attempt they had: those that ended before it lost their outputs
   * with the thread, the rest never ran. A batch that only waited on the ended thread runs again whole.
   */
  async #lost(flight: Flight, cause: unknown): Promise<EngineRan[]> {
    const { target, items, stopped } = flight;
    if (stopped !== undefined) {
      const error = toErrorRecord(new TryStoppedError(stopped.deadline - stopped.startedAt));
      const overran: EngineRan = {
        taken: items[stopped.position] as EngineTaken,
        ok: false,
        error,
        durationMs: Date.now() - stopped.startedAt,
        workerId: `${target}-${stopped.threadId}`,
      };
      const others = items.filter((_, i) => i !== stopped.position);
      const again = others.length > 0 ? await this.#runBatch(target, others) : [];
      return [...again.slice(0, stopped.position), overran, ...again.slice(stopped.position)];
    }
    if (this.#destroying && this.#leaveCut) return [];
    if (!this.#destroying && cause instanceof Error && cause.message === THREAD_ENDED) {
      return this.#runBatch(target, items);
    }
    const error = toErrorRecord(new WorkerCrashedError(target, { cause }));
    const workerId = `${target}-crashed`;
    return items.map((taken) => ({ taken, ok: false, error, durationMs: 0, workerId }));
  }
}

/** Groups tries by job and cuts them into batches small enough to keep every thread busy. */
const batchesOf = (taken: readonly EngineTaken[]): EngineTaken[][] => {
  const batches: EngineTaken[][] = [];
  const open = new Map<JobRun, { items: EngineTaken[]; bytes: number }>();
  for (const item of taken) {
    let batch = open.get(item.job);
    if (batch === undefined || batch.items.length >= MAX_BATCH_TASKS || batch.bytes >= MAX_BATCH_BYTES) {
      batch = { items: [], bytes: 0 };
      open.set(item.job, batch);
      batches.push(batch.items);
    }
    batch.items.push(item);
    batch.bytes += item.delivery.message.bytes;
  }
  return batches;
};
