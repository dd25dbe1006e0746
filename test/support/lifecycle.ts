import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import type { ErrorRecord } from '../../src/core/errors.ts';
import { RetryPolicy } from '../../src/core/retry.ts';
import type { Settlement, TryMessage } from '../../src/core/settlement.ts';
import type { ResultRef } from '../../src/core/task.ts';
import { TryLifecycle } from '../../src/lifecycle/try-lifecycle.ts';
import type {
  ChunkFacts,
  Delivered,
  HealthReport,
  Ran,
  Taken,
  TryJob,
} from '../../src/lifecycle/try-types.ts';
import type { ResultStore } from '../../src/ports/result-store.ts';
import { encode } from './cloud.ts';

export const TARGET = 'aws';
export const LEASE_MS = 60_000;
export const transient: ErrorRecord = { name: 'TransientError', message: 'flaky', retryable: true };
export const poisoned: ErrorRecord = { name: 'PoisonChunkError', message: 'bad chunk', retryable: false };

type LifecycleTaken = Taken<TryMessage, TryJob>;
type LifecycleRan = Ran<TryMessage, TryJob>;

/** Three tries in all; the backoff is half its ceiling: 50 ms before try 2, 100 ms before try 3. */
export const retryPolicy = () => new RetryPolicy({ maxAttempts: 3, baseDelayMs: 100, factor: 2 }, () => 0.5);

export const tryOf = (index: number, overrides: Partial<TryMessage> = {}): TryMessage => ({
  jobId: 'job-1',
  index,
  attempt: 1,
  routedAt: 500 + index,
  sha256: 'ab'.repeat(32),
  bytes: 10,
  ...overrides,
});

export const deliver = (message: TryMessage, id: string, redelivered = false): Delivered<TryMessage> => ({
  id,
  message,
  redelivered,
});

/** The real result store, refusing every write while `refusing`: a bucket that is down, for a while. */
export class RefusingResultStore extends MemoryResultStore {
  refusing = true;

  override async put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]> {
    if (this.refusing) throw new Error('the result store refused the write');
    return super.put(jobId, outputs);
  }
}

export interface RigOptions {
  recordFirstTryAtEnd?: boolean;
  results?: ResultStore;
  tasks?: MemoryTaskStore;
  /** @default LEASE_MS */
  leaseMs?: number;
  /** How each chunk's try fails, by index; a chunk not named completes with `out-<index>`. */
  failures?: Record<number, ErrorRecord>;
  /** The rejects (NDJSON lines) a completed chunk's try has, by index. */
  rejects?: Record<number, string[]>;
  /** What the runtime recorded of a delivery's chunk. @default the chunk each message names, in no segment check */
  chunkFacts?: (message: TryMessage) => ChunkFacts;
  /** @default DEFAULT_GRACE_MS */
  graceMs?: number;
}

/**
 * A try lifecycle for target `aws` on the memory adapters, with jobs `job-1` and `job-2`. Its runtime runs
 * the script of `failures`, one unit per job, and notes the task of each try as it runs; retries and dead
 * letters go to memory queues on a clock the test moves; health reports and hooks are noted in order.
 */
export const lifecycleRig = async (options: RigOptions = {}) => {
  const tasks = options.tasks ?? new MemoryTaskStore();
  const results = options.results ?? new MemoryResultStore();
  const clock = { now: 1_000_000 };
  const retries = new MemoryQueue<{ next: TryMessage; avoid?: string }>({ now: () => clock.now });
  const deadLetters = new MemoryQueue<TryMessage>({ now: () => clock.now });
  const jobs = new Map<string, TryJob>(
    ['job-1', 'job-2'].map((jobId) => [jobId, { jobId, retry: retryPolicy() }]),
  );
  for (const jobId of jobs.keys()) await tasks.createJob({ jobId, createdAt: 0, options: {} });
  const events: string[] = [];
  const health: HealthReport[][] = [];
  const runs: LifecycleTaken[][] = [];
  const statesWhileRunning: (string | undefined)[] = [];
  const ended: { id: string; settlement: Settlement }[] = [];
  const dropped: { id: string; jobId: string | undefined }[] = [];
  const taken: string[] = [];
  const refused: { id: string; reason: string }[] = [];
  const held: { id: string; reason: string }[] = [];
  const lifecycle = new TryLifecycle<TryMessage, TryJob>({
    target: TARGET,
    workerId: 'aws-fn-1',
    tasks,
    results,
    leaseMs: options.leaseMs ?? LEASE_MS,
    cancelled: async (job) => (await tasks.getJob(job.jobId))?.cancelledAt !== undefined,
    jobs: async (jobId) => jobs.get(jobId),
    chunkFacts: (_, message) =>
      options.chunkFacts?.(message) ?? { recorded: { sha256: message.sha256, bytes: message.bytes } },
    ...(options.graceMs !== undefined && { graceMs: options.graceMs }),
    recordFirstTryAtEnd: options.recordFirstTryAtEnd ?? false,
    claimId: (delivery) => `claim-${delivery.id}`,
    followUps: {
      retry: (_, next, delayMs, avoid) =>
        retries.send([{ body: { next, ...(avoid !== undefined && { avoid }) }, delayMs }]),
      deadLetter: (_, message) => deadLetters.send([{ body: message }]),
    },
    health: (target, reports) => {
      events.push(`health ${target}`);
      health.push([...reports]);
    },
    hooks: {
      taken: (item) => taken.push(item.delivery.id),
      dropped: (delivery, job) => dropped.push({ id: delivery.id, jobId: job.jobId }),
      refused: (delivery, reason) => refused.push({ id: delivery.id, reason }),
      held: (delivery, reason) => held.push({ id: delivery.id, reason }),
      ended: (ran, settlement) => ended.push({ id: ran.taken.delivery.id, settlement }),
    },
  });
  const run = async (items: readonly LifecycleTaken[]): Promise<LifecycleRan[][]> => {
    events.push('run');
    runs.push([...items]);
    for (const item of items) {
      const { jobId, index } = item.delivery.message;
      statesWhileRunning.push((await tasks.getTask(jobId, index))?.state);
    }
    const units = new Map<string, LifecycleRan[]>();
    for (const item of items) {
      const { jobId, index } = item.delivery.message;
      const error = options.failures?.[index];
      const common = { taken: item, durationMs: 1.234_567, workerId: 'thread-3' };
      const rejects = options.rejects?.[index];
      const ran: LifecycleRan = error
        ? { ...common, ok: false, error }
        : {
            ...common,
            ok: true,
            output: encode(`out-${index}`),
            ...(rejects && { rejects: { count: rejects.length, data: encode(`${rejects.join('\n')}\n`) } }),
          };
      units.set(jobId, [...(units.get(jobId) ?? []), ran]);
    }
    return [...units.values()];
  };
  /** What the retry queue holds once `ms` have passed. */
  const retriesAfter = async (ms: number) => {
    clock.now += ms;
    const held = await retries.receive({ max: 100, waitMs: 0, visibilityMs: LEASE_MS });
    return held.map((delivery) => delivery.body);
  };
  const deadLettered = async () =>
    (await deadLetters.receive({ max: 100, waitMs: 0, visibilityMs: LEASE_MS })).map((d) => d.body);
  const process = (deliveries: readonly Delivered<TryMessage>[]) =>
    lifecycle.process(deliveries, run, () => events.push('afterRun'));
  return {
    lifecycle,
    tasks,
    results,
    process,
    run,
    events,
    health,
    runs,
    statesWhileRunning,
    taken,
    ended,
    dropped,
    refused,
    held,
    retriesAfter,
    deadLettered,
  };
};
export type LifecycleRig = Awaited<ReturnType<typeof lifecycleRig>>;
