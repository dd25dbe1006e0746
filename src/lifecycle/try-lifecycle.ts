import { randomUUID } from 'node:crypto';
import type { Outcome } from '../core/balancer.ts';
import { checkDelivery, DEFAULT_GRACE_MS, type DeliveryFacts } from '../core/delivery-check.ts';
import type { ErrorRecord } from '../core/errors.ts';
import type { RetryPolicy } from '../core/retry.ts';
import {
  type FollowUp,
  healthOf,
  nextTry,
  recordedFollowUp,
  type Settlement,
  settle,
  type TryMessage,
} from '../core/settlement.ts';
import type { FinishRequest, ResultRef } from '../core/task.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';

/** A message as a runtime's queue delivered it. */
export interface Delivered<M extends TryMessage> {
  /** The queue's id for this delivery: what the runtime acknowledges, or names as a batch item failure. */
  id: string;
  message: M;
  /** True when the queue handed this message out before: its try may have ended without its follow-up. */
  redelivered: boolean;
}

/** What the lifecycle needs of a job: its id and how its failed tries are retried. */
export interface TryJob {
  jobId: string;
  retry: RetryPolicy;
}

/** A try this runtime is about to run: claimed first, or (a first delivery) recorded whole at its end. */
export interface Taken<M extends TryMessage, J extends TryJob> {
  delivery: Delivered<M>;
  job: J;
  claimId: string;
  startedAt: number;
  claimed: boolean;
}

/** A try that ran: its output, or the error it failed with. */
export type Ran<M extends TryMessage, J extends TryJob> = {
  taken: Taken<M, J>;
  durationMs: number;
  /** The worker that ran it, when only known at its end. */
  workerId?: string;
} & ({ ok: true; output: Uint8Array } | { ok: false; error: ErrorRecord });

/**
 * What became of one delivery; `retry` means the queue should hand it out again (nothing was lost),
 * `refused` that it did not belong to its job and was dead-lettered without changing anything, and
 * `cancelled` that its job was cancelled, so its task never runs again.
 */
export type DeliveryResult =
  | 'completed'
  | 'retrying'
  | 'failed'
  | 'duplicate'
  | 'refused'
  | 'cancelled'
  | 'retry';

/** Where the tries after a failed one go: each runtime's own queues. */
export interface FollowUps<M extends TryMessage, J extends TryJob> {
  /** Sends `next` (the following try) to a target other than `avoid` when one is healthy. */
  retry(job: J, next: M, delayMs: number, avoid: string | undefined): Promise<void>;
  /** Keeps a try that failed for good, or a refused delivery (of a job maybe unknown), where an operator finds it. */
  deadLetter(job: J | undefined, message: M): Promise<void>;
}

/** How one try that ran went, for its target's breaker. */
export interface HealthReport {
  outcome: Outcome;
  /** When the try was routed to the target. */
  sentAt: number;
}

/** What a runtime counts or tells as tries pass through; each is optional. */
export interface TryHooks<M extends TryMessage, J extends TryJob> {
  taken?(taken: Taken<M, J>): void;
  /** A duplicate delivery: it runs nothing. */
  dropped?(delivery: Delivered<M>, job: J): void;
  /** A delivery that does not belong to its job (see `checkDelivery`), dead-lettered before anything ran. */
  refused?(delivery: Delivered<M>, reason: string): void;
  /** A delivery whose job or chunk has no record yet: left to come back within the grace. */
  held?(delivery: Delivered<M>, reason: string): void;
  /** A delivery of a cancelled job whose task was waiting for it: the task is cancelled, nothing ran. */
  cancelled?(delivery: Delivered<M>, job: J): void;
  /** A try recorded as ended, before its follow-up is sent. */
  ended?(ran: Ran<M, J>, settlement: Settlement, endedAt: number): void;
}

export interface TryLifecycleOptions<M extends TryMessage, J extends TryJob> {
  /** The target this lifecycle runs tries on, e.g. `aws`. */
  target: string;
  /** Names the runner in each try's history. */
  workerId: string;
  tasks: TaskStore;
  results: ResultStore;
  /** How long a claim holds before a redelivery of the same try may take it over. */
  leaseMs: number;
  /** The job of a delivery; undefined for one the runtime does not know (expired, deleted, never made). */
  jobs(jobId: string): J | undefined | Promise<J | undefined>;
  /**
   * Whether the job was cancelled, read fresh for each batch: a try of a cancelled job never starts, and
   * its task is recorded cancelled instead.
   */
  cancelled(job: J): boolean | Promise<boolean>;
  /** What this runtime recorded of a delivery's chunk, which the delivery is checked against before it runs. */
  chunkFacts(job: J, message: M): ChunkFacts | Promise<ChunkFacts>;
  /**
   * How long after its `routedAt` a delivery of a job or chunk not recorded yet is left to come back
   * before it is refused.
   * @default DEFAULT_GRACE_MS (60000)
   */
  graceMs?: number;
  followUps: FollowUps<M, J>;
  /** Told each try's health in task order as soon as the tries have run, before anything is stored. */
  health(target: string, reports: readonly HealthReport[]): void | Promise<void>;
  hooks?: TryHooks<M, J>;
  /**
   * Record a first delivery's try in one conditional write at its end (`claimAndFinish`) instead of a
   * claim and a finish: one write per try is what keeps a chunk at 1 DynamoDB write unit. A duplicate
   * first delivery then runs the pipeline a second time, and its output is dropped.
   * @default false
   */
  recordFirstTryAtEnd?: boolean;
  /** @default a random UUID per delivery */
  claimId?(delivery: Delivered<M>): string;
}

/** A delivery's job and chunk as the runtime recorded them; the attempt budget comes from the job's retry policy. */
export type ChunkFacts = Omit<DeliveryFacts, 'maxAttempts'>;

/** Runs the taken tries and gives back what they did, in units whose outputs are stored together. */
export type RunTries<M extends TryMessage, J extends TryJob> = (
  taken: readonly Taken<M, J>[],
) => Promise<Ran<M, J>[][]>;

/**
 * The life of a try, written once for every runtime: take it (claim, or defer the claim to the end),
 * run it (the runtime's part), report its target's health, store the outputs, record its end, and send
 * what follows (a retry or a dead letter). The task store's conditional writes let one delivery of a try
 * record it, so a duplicate records nothing, counts nothing and sends nothing.
 */
export class TryLifecycle<M extends TryMessage, J extends TryJob> {
  readonly #options: TryLifecycleOptions<M, J>;
  readonly #hooks: TryHooks<M, J>;

  constructor(options: TryLifecycleOptions<M, J>) {
    this.#options = options;
    this.#hooks = options.hooks ?? {};
  }

  get target(): string {
    return this.#options.target;
  }

  /**
   * Takes every delivery through its try. `afterRun` is called once the tries have run, before anything is
   * stored: a runtime frees its runner there, since storing may wait on work that runner must pick up.
   */
  async process(
    deliveries: readonly Delivered<M>[],
    run: RunTries<M, J>,
    afterRun?: () => void,
  ): Promise<Map<string, DeliveryResult>> {
    const results = new Map<string, DeliveryResult>();
    const taken = await this.#take(deliveries, results);
    const units = taken.length > 0 ? await run(taken) : [];
    const ran = units.flat();
    if (ran.length > 0) {
      await this.#options.health(
        this.target,
        ran.map((item) => ({ outcome: healthOf(item), sentAt: item.taken.delivery.message.routedAt })),
      );
    }
    afterRun?.();
    const refs = await this.#store(units);
    // An output that could not be stored is not recorded: the delivery comes back and takes its try over.
    const recording = ran.filter((item) => !item.ok || refs.has(item));
    await Promise.all(
      recording.map((item) => guard(results, item.taken.delivery.id, () => this.#end(item, refs.get(item)))),
    );
    return results;
  }

  /** Each delivery's try, claimed unless recorded at its end, in delivery order; the rest answered. */
  async #take(
    deliveries: readonly Delivered<M>[],
    results: Map<string, DeliveryResult>,
  ): Promise<Taken<M, J>[]> {
    const taken: (Taken<M, J> | undefined)[] = [];
    const firstCopies = new Set<string>();
    // Taken before the jobs are read: a try this batch starts began before any cancel it did not see.
    const now = Date.now();
    const cancels = new Map<J, Promise<boolean>>();
    const isCancelled = (job: J): Promise<boolean> => {
      let cancelled = cancels.get(job);
      if (cancelled === undefined) {
        cancelled = Promise.resolve(this.#options.cancelled(job));
        cancels.set(job, cancelled);
      }
      return cancelled;
    };
    await Promise.all(
      deliveries.map((delivery, i) =>
        guard(results, delivery.id, async () => {
          const { message } = delivery;
          const job = await this.#options.jobs(message.jobId);
          const verdict = await this.#check(message, job, now);
          if (verdict.kind === 'wait') {
            this.#hooks.held?.(delivery, verdict.reason);
            return 'retry';
          }
          if (verdict.kind === 'refuse' || job === undefined) {
            const reason = verdict.kind === 'refuse' ? verdict.reason : 'unknown job';
            await this.#options.followUps.deadLetter(job, message);
            this.#hooks.refused?.(delivery, reason);
            return 'refused';
          }
          if (await isCancelled(job)) return this.#cancel(delivery, job, now);
          if (!delivery.redelivered) {
            // Copies of a first delivery in one batch: one runs, and the others' answer is known already.
            const key = `${message.jobId}#${message.index}#${message.attempt}`;
            if (firstCopies.has(key)) return this.#drop(delivery, job);
            firstCopies.add(key);
          }
          const claimId = this.#options.claimId?.(delivery) ?? randomUUID();
          const claimed = delivery.redelivered || !this.#options.recordFirstTryAtEnd;
          if (claimed && !(await this.#claim(message, claimId, now))) {
            if (delivery.redelivered) await this.#resumeFollowUp(job, message);
            return this.#drop(delivery, job);
          }
          const item = { delivery, job, claimId, startedAt: now, claimed };
          this.#hooks.taken?.(item);
          taken[i] = item;
          return 'retry';
        }),
      ),
    );
    return taken.filter((item) => item !== undefined);
  }

  async #check(message: M, job: J | undefined, now: number) {
    const facts = job && {
      maxAttempts: job.retry.options.maxAttempts,
      ...(await this.#options.chunkFacts(job, message)),
    };
    return checkDelivery(message, { facts, now, graceMs: this.#options.graceMs ?? DEFAULT_GRACE_MS });
  }

  async #claim(message: M, claimId: string, now: number): Promise<boolean> {
    const claim = await this.#options.tasks.claim({
      jobId: message.jobId,
      index: message.index,
      attempt: message.attempt,
      target: this.target,
      workerId: this.#options.workerId,
      claimId,
      now,
      leaseMs: this.#options.leaseMs,
      bytes: message.bytes,
      sha256: message.sha256,
    });
    return claim.claimed;
  }

  /** A delivery of a cancelled job: its task, if it waited for this try, never runs. */
  async #cancel(delivery: Delivered<M>, job: J, now: number): Promise<DeliveryResult> {
    const { jobId, index, attempt, bytes, sha256 } = delivery.message;
    if (!(await this.#options.tasks.cancelTask({ jobId, index, attempt, bytes, sha256, now })))
      return this.#drop(delivery, job);
    this.#hooks.cancelled?.(delivery, job);
    return 'cancelled';
  }

  #drop(delivery: Delivered<M>, job: J): DeliveryResult {
    this.#hooks.dropped?.(delivery, job);
    return 'duplicate';
  }

  /** Each unit's outputs as one write; a unit that could not be stored is left out. */
  async #store(units: readonly Ran<M, J>[][]): Promise<Map<Ran<M, J>, ResultRef>> {
    const refs = new Map<Ran<M, J>, ResultRef>();
    await Promise.all(
      units.map(async (unit) => {
        const done = unit.filter((item) => item.ok);
        if (done.length === 0) return;
        const jobId = (done[0] as Ran<M, J>).taken.job.jobId;
        const stored = await this.#options.results
          .put(
            jobId,
            done.map((item) => item.output),
          )
          .catch((): ResultRef[] => []);
        for (const [i, ref] of stored.entries()) refs.set(done[i] as Ran<M, J>, ref);
      }),
    );
    return refs;
  }

  /** Records the end of a try, then sends what follows it: recorded first, so a lost follow-up is resent. */
  async #end(item: Ran<M, J>, ref: ResultRef | undefined): Promise<DeliveryResult> {
    const { job, delivery, claimId } = item.taken;
    const { message } = delivery;
    const settlement = settle(item, message, job.retry, this.target);
    const endedAt = Date.now();
    const request: FinishRequest = {
      jobId: message.jobId,
      index: message.index,
      attempt: message.attempt,
      claimId,
      outcome: settlement.state,
      now: endedAt,
      durationMs: Math.round(item.durationMs * 1000) / 1000,
      ...(item.workerId !== undefined && { workerId: item.workerId }),
      ...(settlement.error !== undefined && { error: settlement.error }),
      ...(item.ok && { bytesOut: item.output.byteLength }),
      ...(ref !== undefined && { result: ref }),
    };
    if (!(await this.#record(item, request))) return 'duplicate';
    this.#hooks.ended?.(item, settlement, endedAt);
    await this.#followUp(job, message, settlement.followUp);
    return settlement.state;
  }

  /** Ends a claimed try, or records an unclaimed one whole; false for a duplicate. */
  #record(item: Ran<M, J>, request: FinishRequest): Promise<boolean> {
    const { taken } = item;
    if (taken.claimed) return this.#options.tasks.finish(request);
    const { message } = taken.delivery;
    return this.#options.tasks.claimAndFinish({
      ...request,
      target: this.target,
      workerId: item.workerId ?? this.#options.workerId,
      startedAt: taken.startedAt,
      bytes: message.bytes,
      sha256: message.sha256,
    });
  }

  async #resumeFollowUp(job: J, message: M): Promise<void> {
    const task = await this.#options.tasks.getTask(message.jobId, message.index);
    await this.#followUp(job, message, recordedFollowUp(task, message.attempt, job.retry, this.target));
  }

  async #followUp(job: J, message: M, followUp: FollowUp): Promise<void> {
    if (followUp.kind === 'retry')
      await this.#options.followUps.retry(
        job,
        nextTry(message, this.target),
        followUp.delayMs,
        followUp.avoid,
      );
    else if (followUp.kind === 'dead-letter') await this.#options.followUps.deadLetter(job, message);
  }
}

/** Runs one delivery's work and keeps its answer; a delivery whose work threw is left to come back. */
const guard = async (
  results: Map<string, DeliveryResult>,
  id: string,
  work: () => Promise<DeliveryResult>,
): Promise<void> => {
  try {
    results.set(id, await work());
  } catch {
    results.set(id, 'retry');
  }
};
