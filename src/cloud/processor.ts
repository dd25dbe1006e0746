import { readOne } from '../adapters/result-reading.ts';
import { TryLifecycle } from '../lifecycle/try-lifecycle.ts';
import type { DeliveryResult, HealthReport, Ran, Taken, TryHooks } from '../lifecycle/try-types.ts';
import type { Queue } from '../ports/queue.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { ChunkRecords } from './chunk-records.ts';
import type { JobPlan, JobPlans } from './job-plans.ts';
import type { ChunkDelivery, ChunkMessage } from './messages.ts';
import type { Router } from './router.ts';

export type { DeliveryResult };

export interface ProcessorOptions {
  /** The target this processor serves, e.g. `aws`. */
  target: string;
  /** Names the function instance in each try's history. */
  workerId: string;
  tasks: TaskStore;
  /** Where ingest put the chunks. */
  inputs: ResultStore;
  results: ResultStore;
  plans: JobPlans;
  /** The chunks of the jobs' segments, which each delivery is checked against before it runs. */
  chunks: ChunkRecords;
  /** How long a delivery of a job or chunk not recorded yet is held before it is refused. @default DEFAULT_GRACE_MS */
  graceMs?: number;
  /** Told of each delivery refused or held, for the function's log. @default none */
  hooks?: Pick<TryHooks<ChunkMessage, JobPlan>, 'refused' | 'held'>;
  /** Where retries go: any target's queue. */
  router: Router;
  /** This target's dead-letter queue: chunks that failed for good are copied there. */
  deadLetters: Queue<ChunkMessage>;
  /** How long a claim holds: the queue's visibility timeout minus the function timeout. */
  leaseMs: number;
}

/** What a function keeps in hand beyond what the next chunk may take, to record the batch. */
export const TIME_LEFT_MARGIN_MS = 1000;

/** How long the function running a batch has left, in milliseconds. */
export type TimeLeft = () => number;

type CloudTaken = Taken<ChunkMessage, JobPlan>;
type CloudRan = Ran<ChunkMessage, JobPlan>;

/**
 * Runs a batch of chunk deliveries on one target, the same way whichever cloud delivered them: the try
 * lifecycle takes, stores, records and follows up each try; this processor reads the chunks from the
 * input bucket and runs the job's pipeline on them, one by one, as a function instance has one core.
 *
 * A first delivery's try is recorded in one conditional write at its end (`claimAndFinish`): one write per
 * try is what keeps a chunk's DynamoDB cost at 1 WRU. A redelivery, which may meet a try still running
 * elsewhere or one whose worker died, claims the try before running it and ends it after.
 */
export class ChunkProcessor {
  readonly #options: ProcessorOptions;
  readonly #lifecycle: TryLifecycle<ChunkMessage, JobPlan>;

  constructor(options: ProcessorOptions) {
    this.#options = options;
    const { router, deadLetters } = options;
    this.#lifecycle = new TryLifecycle<ChunkMessage, JobPlan>({
      target: options.target,
      workerId: options.workerId,
      tasks: options.tasks,
      results: options.results,
      leaseMs: options.leaseMs,
      jobs: (jobId) => options.plans.get(jobId),
      // A plan is cached; whether its job was cancelled is read from the table for every batch.
      cancelled: (plan) => this.#cancelled(plan),
      chunkFacts: (_, message) => options.chunks.facts(message.jobId, message.index),
      ...(options.graceMs !== undefined && { graceMs: options.graceMs }),
      ...(options.hooks !== undefined && { hooks: options.hooks }),
      recordFirstTryAtEnd: true,
      followUps: {
        retry: (plan, next, delayMs, avoid) =>
          // The job's request names its lane: a retry keeps it, on whichever target it goes to.
          router.send([{ message: next, delayMs, ...(avoid !== undefined && { avoid }) }], plan.request),
        deadLetter: (_, message) => deadLetters.send([{ body: message }]),
      },
      health: (target, reports) => router.record(target, reports.filter(isSignal)),
    });
  }

  get target(): string {
    return this.#options.target;
  }

  /**
   * Takes a batch of deliveries through their tries. A try the reconciler sent again is taken as a
   * redelivery: it may take over a try whose lease ran out. With `timeLeft`, a chunk after the first is
   * taken only while the function has more time left than the next chunk may take (see `mayTake`) plus
   * {@link TIME_LEFT_MARGIN_MS}; the chunks left are answered `retry`, for their queue to hand out again.
   */
  process(deliveries: readonly ChunkDelivery[], timeLeft?: TimeLeft): Promise<Map<string, DeliveryResult>> {
    return this.#lifecycle.process(
      deliveries.map((d) => (d.message.resent === true ? { ...d, redelivered: true } : d)),
      (taken) => this.#run(taken, mayTake(timeLeft)),
    );
  }

  /**
   * Reads each job's chunks together, then runs them one by one. A chunk that cannot be read, or that
   * there is no time left for, is left unfinished, to come back. One unit per job: its outputs are stored
   * as one object.
   */
  async #run(taken: readonly CloudTaken[], mayTake: (plan: JobPlan) => boolean): Promise<CloudRan[][]> {
    const units: CloudRan[][] = [];
    for (const group of groupByJob(taken)) units.push(await this.#runGroup(group, mayTake));
    return units;
  }

  /**
   * Reads the group's chunks together; when that fails, each one on its own, so a chunk that cannot be
   * read stays unsettled (to come back) without holding back the others.
   */
  async #runGroup(group: readonly CloudTaken[], mayTake: (plan: JobPlan) => boolean): Promise<CloudRan[]> {
    const plan = (group[0] as CloudTaken).job;
    const { jobId } = plan;
    const { inputs } = this.#options;
    const ran: CloudRan[] = [];
    const goOn = this.#untilCancelled(plan, mayTake);
    try {
      const refs = group.map((item) => item.delivery.message.input);
      for await (const input of inputs.read(jobId, refs)) {
        if (!(await goOn())) return ran;
        ran.push(await this.#runOne(group[ran.length] as CloudTaken, input));
      }
    } catch {
      for (const item of group.slice(ran.length)) {
        if (!(await goOn())) return ran;
        const input = await readOne(inputs, jobId, item.delivery.message.input).catch(() => undefined);
        if (input !== undefined) ran.push(await this.#runOne(item, input));
      }
    }
    return ran;
  }

  /**
   * Whether to run the group's next chunk: while `mayTake` lets it, and its job has not been cancelled
   * since the batch was taken, read again once `CANCEL_CHECK_MS` has passed since the last read (not
   * before every chunk: that would add a read per chunk). The chunks left are cancelled or come back.
   */
  #untilCancelled(plan: JobPlan, mayTake: (plan: JobPlan) => boolean): () => Promise<boolean> {
    let checkedAt = performance.now();
    return async () => {
      if (!mayTake(plan)) return false;
      if (performance.now() - checkedAt < CANCEL_CHECK_MS) return true;
      checkedAt = performance.now();
      return !(await this.#cancelled(plan));
    };
  }

  /** Whether the plan's job was cancelled: its record read from the table, never from the cached plan. */
  async #cancelled(plan: JobPlan): Promise<boolean> {
    return (await this.#options.tasks.getJob(plan.jobId))?.cancelledAt !== undefined;
  }

  async #runOne(taken: CloudTaken, input: Uint8Array): Promise<CloudRan> {
    const { message } = taken.delivery;
    const attempted = await taken.job.pipeline.attempt(input, {
      jobId: message.jobId,
      index: message.index,
      sha256: message.sha256,
      attempt: message.attempt,
      target: this.target,
      workerId: this.#options.workerId,
      jobStartedAt: taken.job.createdAt,
      ...(message.firstLine !== undefined && { firstLine: message.firstLine }),
    });
    const { durationMs } = attempted;
    if (!attempted.ok) return { taken, ok: false, error: attempted.error, durationMs };
    return {
      taken,
      ok: true,
      output: attempted.output,
      durationMs,
      ...(attempted.rejects && { rejects: attempted.rejects }),
    };
  }
}

/** How often a batch that runs for long reads whether its job was cancelled, between chunks. */
const CANCEL_CHECK_MS = 1000;

/**
 * Whether the function may take another chunk of `plan`: the first chunk always (a function whose
 * timeout is short still makes progress), the others while the time left exceeds what the next chunk may
 * take plus the margin. What it may take is twice the slowest chunk of the batch so far, at most the
 * job's longest step timeout: a step timeout is a bound, not a forecast, and a function of 30 s would
 * otherwise take one chunk per batch under the default 30 s timeout. A chunk that still outruns the
 * function is not lost: its delivery comes back. Once it says no, it says no to every job of the batch.
 */
const mayTake = (timeLeft: TimeLeft | undefined): ((plan: JobPlan) => boolean) => {
  let taken = 0;
  let stopped = false;
  let lastAt = performance.now();
  let slowestMs = 0;
  return (plan) => {
    const now = performance.now();
    slowestMs = Math.max(slowestMs, now - lastAt);
    lastAt = now;
    if (timeLeft !== undefined && taken > 0) {
      const nextMayTake = Math.min(plan.pipeline.longestStepTimeoutMs, 2 * slowestMs);
      stopped ||= timeLeft() < nextMayTake + TIME_LEFT_MARGIN_MS;
    }
    if (stopped) return false;
    taken++;
    return true;
  };
};

/** A permanent failure says nothing of the target: the shared breakers hear only the rest. */
const isSignal = (report: HealthReport): report is HealthReport & { outcome: 'success' | 'failure' } =>
  report.outcome !== 'neutral';

const groupByJob = (items: readonly CloudTaken[]): CloudTaken[][] => {
  const groups = new Map<string, CloudTaken[]>();
  for (const item of items) {
    const group = groups.get(item.job.jobId) ?? [];
    group.push(item);
    groups.set(item.job.jobId, group);
  }
  return [...groups.values()];
};
