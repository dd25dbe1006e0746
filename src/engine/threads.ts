import { Piscina } from 'piscina';
import { toErrorRecord, WorkerCrashedError } from '../core/errors.ts';
import type { Ran, Taken } from '../lifecycle/try-lifecycle.ts';
import type { JobRun } from './job-run.ts';
import { outcomesOf, type TaskMessage, type WorkerBatch, type WorkerReply } from './messages.ts';

type EngineTaken = Taken<TaskMessage, JobRun>;
type EngineRan = Ran<TaskMessage, JobRun>;

export const MAX_BATCH_TASKS = 128;
export const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * The worker threads every target shares. Tries go to a thread in batches of one job, as columns, and
 * their outputs come back in one buffer; the chunks themselves stay in the arena the threads share.
 */
export class ThreadRunner {
  readonly #pool: Piscina;

  constructor(threads: number, arena: SharedArrayBuffer) {
    this.#pool = new Piscina({
      // Next to this module: worker.ts when run from source (tests), worker.js in the bundle (dist/).
      filename: new URL(import.meta.url.endsWith('.ts') ? 'worker.ts' : 'worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // A thread's next batch waits on the thread (worker.ts runs them in turn), not on the main thread.
      concurrentTasksPerWorker: 2,
      workerData: arena,
      // Chunks live outside the V8 heap: a larger nursery only grows memory with the input.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
  }

  /** Runs the tries in batches, all at once; each batch is a unit whose outputs are stored together. */
  run(target: string, taken: readonly EngineTaken[]): Promise<EngineRan[][]> {
    return Promise.all(batchesOf(taken).map((batch) => this.#runBatch(target, batch)));
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }

  async #runBatch(target: string, items: readonly EngineTaken[]): Promise<EngineRan[]> {
    const job = (items[0] as EngineTaken).job;
    const tries = items.map((item) => item.delivery.message);
    const batch: WorkerBatch = {
      recipe: job.recipe,
      target,
      jobId: job.jobId,
      jobStartedAt: job.createdAt,
      indexes: tries.map((t) => t.index),
      attempts: tries.map((t) => t.attempt),
      lengths: tries.map((t) => t.bytes),
      sha256: tries.map((t) => t.sha256).join(''),
      offsets: tries.map((t) => t.data.byteOffset),
    };
    let reply: WorkerReply;
    try {
      reply = (await this.#pool.run(batch)) as WorkerReply;
    } catch (cause) {
      const error = toErrorRecord(new WorkerCrashedError(target, { cause }));
      const workerId = `${target}-crashed`;
      return items.map((taken) => ({ taken, ok: false, error, durationMs: 0, workerId }));
    }
    const { workerId, output } = reply;
    let offset = 0;
    return outcomesOf(reply).map((outcome, i): EngineRan => {
      const taken = items[i] as EngineTaken;
      if (!outcome.ok)
        return { taken, ok: false, error: outcome.error, durationMs: outcome.durationMs, workerId };
      const data = output.subarray(offset, offset + outcome.length);
      offset += outcome.length;
      return { taken, ok: true, output: data, durationMs: outcome.durationMs, workerId };
    });
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
