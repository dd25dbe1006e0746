import { randomUUID } from 'node:crypto';
import { checkDelivery, DEFAULT_GRACE_MS } from '../core/delivery-check.ts';
import { toErrorRecord } from '../core/errors.ts';
import {
  type FollowUp,
  healthOf,
  nextTry,
  recordedFollowUp,
  settle,
  type TryMessage,
} from '../core/settlement.ts';
import type { FinishRequest, ResultRef } from '../core/task.ts';
import { OutputNotStoredError } from '../ports/errors.ts';
import type {
  Delivered,
  DeliveryResult,
  Ran,
  RunTries,
  Taken,
  TryHooks,
  TryJob,
  TryLifecycleOptions,
} from './try-types.ts';

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
    await this.#cancelUnrun(taken, ran, results);
    const stored = await this.#store(units);
    await Promise.all(
      ran.map((item) => {
        const ref = stored.get(item);
        // An output that could not be stored fails its try retryably, recorded and retried like any other.
        if (ref instanceof OutputNotStoredError)
          return guard(results, item.taken.delivery.id, () => this.#end(notStored(item, ref), undefined));
        return guard(results, item.taken.delivery.id, () => this.#end(item, ref));
      }),
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

  /**
   * Tries the runtime took and did not run (it stopped for time, or because their job was cancelled in
   * mid-batch) come back; those of a job cancelled by now, not claimed yet, are cancelled instead.
   */
  async #cancelUnrun(
    taken: readonly Taken<M, J>[],
    ran: readonly Ran<M, J>[],
    results: Map<string, DeliveryResult>,
  ): Promise<void> {
    const done = new Set(ran.map((item) => item.taken));
    const unrun = taken.filter((item) => !done.has(item) && !item.claimed);
    const cancelled = new Map<J, Promise<boolean>>();
    await Promise.all(
      unrun.map(({ delivery, job, startedAt }) =>
        guard(results, delivery.id, async () => {
          if (!cancelled.has(job)) cancelled.set(job, Promise.resolve(this.#options.cancelled(job)));
          return (await cancelled.get(job)) ? this.#cancel(delivery, job, startedAt) : 'retry';
        }),
      ),
    );
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

  /**
   * Each unit's outputs, and their rejects, as one write: each try's refs, or why its unit could not be
   * stored.
   */
  async #store(units: readonly Ran<M, J>[][]): Promise<Map<Ran<M, J>, StoredRefs | OutputNotStoredError>> {
    const refs = new Map<Ran<M, J>, StoredRefs | OutputNotStoredError>();
    await Promise.all(
      units.map(async (unit) => {
        const done = unit.filter((item) => item.ok);
        if (done.length === 0) return;
        const jobId = (done[0] as Ran<M, J>).taken.job.jobId;
        const outputs = done.flatMap((item) =>
          item.rejects ? [item.output, item.rejects.data] : [item.output],
        );
        const stored = await this.#options.results.put(jobId, outputs).catch((error: unknown) => error);
        let at = 0;
        for (const item of done) {
          if (!Array.isArray(stored)) refs.set(item, new OutputNotStoredError(stored));
          else
            refs.set(item, {
              result: stored[at++] as ResultRef,
              ...(item.rejects && { rejects: stored[at++] as ResultRef }),
            });
        }
      }),
    );
    return refs;
  }

  /** Records the end of a try, then sends what follows it: recorded first, so a lost follow-up is resent. */
  async #end(item: Ran<M, J>, refs: StoredRefs | undefined): Promise<DeliveryResult> {
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
      ...(refs !== undefined && { result: refs.result }),
      ...(refs?.rejects !== undefined && item.ok && { rejects: refs.rejects, rejected: item.rejects?.count }),
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

/** Where a try's output, and its rejects when it has any, were stored. */
interface StoredRefs {
  result: ResultRef;
  rejects?: ResultRef;
}

/** A try whose output could not be stored, as the failed try it becomes. */
const notStored = <M extends TryMessage, J extends TryJob>(
  item: Ran<M, J>,
  error: OutputNotStoredError,
): Ran<M, J> => ({
  taken: item.taken,
  durationMs: item.durationMs,
  ...(item.workerId !== undefined && { workerId: item.workerId }),
  ok: false,
  error: toErrorRecord(error),
});

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
