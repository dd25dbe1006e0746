import { randomUUID } from 'node:crypto';
import { readOne } from '../adapters/result-reading.ts';
import { TaskState } from '../core/constants.ts';
import type { ErrorRecord } from '../core/errors.ts';
import type { FinishRequest } from '../core/task.ts';
import type { Queue } from '../ports/queue.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { JobPlan, JobPlans } from './job-plans.ts';
import type { ChunkDelivery, ChunkMessage } from './messages.ts';
import type { Router } from './router.ts';
import type { TargetOutcome } from './target-health.ts';

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
  /** Where retries go: any target's queue. */
  router: Router;
  /** This target's dead-letter queue: chunks that failed for good are copied there. */
  deadLetters: Queue<ChunkMessage>;
  /** How long a claim holds: the queue's visibility timeout minus the function timeout. */
  leaseMs: number;
}

/** What became of one delivery; `retry` means the queue should hand it out again (nothing was lost). */
export type DeliveryResult = 'completed' | 'retrying' | 'failed' | 'duplicate' | 'unknown-job' | 'retry';

/** A try this processor runs: claimed first when redelivered, else recorded whole at its end. */
interface Taken {
  delivery: ChunkDelivery;
  plan: JobPlan;
  claimId: string;
  startedAt: number;
  claimed: boolean;
}

interface Ran extends Taken {
  output?: Uint8Array;
  error?: ErrorRecord;
  durationMs: number;
}

/**
 * Runs a batch of chunk deliveries on one target, the same way whichever cloud delivered them: read the
 * chunks, run the job's pipeline, store the outputs as one unit, record each try, and send a failed one on
 * to its next try (on another target when one is healthy) or to the dead-letter queue.
 *
 * A first delivery's try is recorded in one conditional write at its end (`claimAndFinish`): one write per
 * try is what keeps a chunk's DynamoDB cost at 1 WRU. A redelivery, which may meet a try still running
 * elsewhere or one whose worker died, claims the try before running it and ends it after (`claim`, then
 * `finish`). Either way the store lets one delivery of a try record it, so a duplicate records nothing
 * and counts nothing; a duplicate first delivery (rare: the queue handed the message out twice at once)
 * may run the pipeline a second time, and its output is dropped.
 */
export class ChunkProcessor {
  readonly #options: ProcessorOptions;

  constructor(options: ProcessorOptions) {
    this.#options = options;
  }

  get target(): string {
    return this.#options.target;
  }

  async process(deliveries: readonly ChunkDelivery[]): Promise<Map<string, DeliveryResult>> {
    const results = new Map<string, DeliveryResult>();
    const settle = async (id: string, work: () => Promise<DeliveryResult>): Promise<void> => {
      try {
        results.set(id, await work());
      } catch {
        results.set(id, 'retry');
      }
    };
    const taken: Taken[] = [];
    const firstCopies = new Set<string>();
    await Promise.all(
      deliveries.map((delivery) =>
        settle(delivery.id, async () => {
          if (!delivery.redelivered) {
            // Copies of a first delivery in one batch: one runs, and the others' answer is known already.
            const { jobId, index, attempt } = delivery.message;
            const key = `${jobId}#${index}#${attempt}`;
            if (firstCopies.has(key)) return 'duplicate';
            firstCopies.add(key);
          }
          const outcome = await this.#take(delivery);
          if (typeof outcome === 'string') return outcome;
          taken.push(outcome);
          return 'retry';
        }),
      ),
    );
    const ran = await this.#run(taken);
    const stored = await this.#storeOutputs(ran);
    // An output that could not be stored is not finished: the delivery comes back and takes its try over.
    const finishing = ran.filter((item) => item.output === undefined || stored.has(item));
    await Promise.all(
      finishing.map((item) => settle(item.delivery.id, () => this.#finish(item, stored.get(item)))),
    );
    await this.#options.router.record(this.target, healthOutcomes(finishing, results));
    return results;
  }

  async #take(delivery: ChunkDelivery): Promise<Taken | DeliveryResult> {
    const { message } = delivery;
    const plan = await this.#options.plans.get(message.jobId);
    if (plan === undefined) return 'unknown-job';
    const claimId = randomUUID();
    const startedAt = Date.now();
    const taken = { delivery, plan, claimId, startedAt, claimed: delivery.redelivered };
    if (!delivery.redelivered) return taken;
    const claim = await this.#options.tasks.claim({
      jobId: message.jobId,
      index: message.index,
      attempt: message.attempt,
      target: this.target,
      workerId: this.#options.workerId,
      claimId,
      now: startedAt,
      leaseMs: this.#options.leaseMs,
      bytes: message.bytes,
      sha256: message.sha256,
    });
    if (claim.claimed) return taken;
    await this.#resumeFollowUp(plan, message);
    return 'duplicate';
  }

  /**
   * A redelivered try that already ended may have ended without its follow-up (the function stopped
   * between the two): send the retry or the dead letter again. A second copy is harmless, since only one
   * delivery of a try can claim it and a dead letter names a chunk that failed.
   */
  async #resumeFollowUp(plan: JobPlan, message: ChunkMessage): Promise<void> {
    const task = await this.#options.tasks.getTask(message.jobId, message.index);
    if (task?.attempts.length !== message.attempt) return;
    if (task.state === TaskState.retrying) await this.#sendRetry(plan, message, 0);
    if (task.state === TaskState.failed) await this.#options.deadLetters.send([{ body: message }]);
  }

  /**
   * Reads each job's chunks together, then runs them one by one: a function instance has one core. A
   * chunk that cannot be read is left unfinished, to come back.
   */
  async #run(taken: readonly Taken[]): Promise<Ran[]> {
    const ran: Ran[] = [];
    for (const group of groupByJob(taken)) await this.#runGroup(group, ran);
    return ran;
  }

  /**
   * Reads the group's chunks together; when that fails, each one on its own, so a chunk that cannot be
   * read stays unsettled (to come back) without holding back the others.
   */
  async #runGroup(group: readonly Taken[], ran: Ran[]): Promise<void> {
    const jobId = group[0]?.plan.jobId as string;
    const inputs = this.#options.inputs;
    let done = 0;
    try {
      const refs = group.map((item) => item.delivery.message.input);
      for await (const input of inputs.read(jobId, refs))
        ran.push(await this.#runOne(group[done++] as Taken, input));
      return;
    } catch {
      for (const item of group.slice(done)) {
        const input = await readOne(inputs, jobId, item.delivery.message.input).catch(() => undefined);
        if (input !== undefined) ran.push(await this.#runOne(item, input));
      }
    }
  }

  async #runOne(item: Taken, input: Uint8Array): Promise<Ran> {
    const { message } = item.delivery;
    const attempted = await item.plan.pipeline.attempt(input, {
      jobId: message.jobId,
      index: message.index,
      sha256: message.sha256,
      attempt: message.attempt,
      target: this.target,
      workerId: this.#options.workerId,
      jobStartedAt: item.plan.createdAt,
    });
    return attempted.ok
      ? { ...item, output: attempted.output, durationMs: attempted.durationMs }
      : { ...item, error: attempted.error, durationMs: attempted.durationMs };
  }

  /** One unit of outputs per job in the batch; a completed task always has its output stored first. */
  async #storeOutputs(ran: readonly Ran[]): Promise<Map<Ran, string>> {
    const refs = new Map<Ran, string>();
    const groups = groupByJob(ran.filter((item) => item.output !== undefined));
    await Promise.all(
      groups.map(async (group) => {
        const jobId = group[0]?.plan.jobId as string;
        const outputs = group.map((item) => item.output as Uint8Array);
        const stored = await this.#options.results.put(jobId, outputs).catch((): string[] => []);
        for (const [i, ref] of stored.entries()) refs.set(group[i] as Ran, ref);
      }),
    );
    return refs;
  }

  async #finish(item: Ran, ref: string | undefined): Promise<DeliveryResult> {
    const { message } = item.delivery;
    const finish = {
      jobId: message.jobId,
      index: message.index,
      attempt: message.attempt,
      claimId: item.claimId,
      now: Date.now(),
      durationMs: Math.round(item.durationMs * 1000) / 1000,
    };
    if (item.output !== undefined) {
      const ended = await this.#end(item, {
        ...finish,
        outcome: TaskState.completed,
        bytesOut: item.output.byteLength,
        ...(ref !== undefined && { result: ref }),
      });
      return ended ? 'completed' : 'duplicate';
    }
    const error = item.error as ErrorRecord;
    const decision = item.plan.retry.decide(error, message.attempt);
    const outcome = decision.retry ? TaskState.retrying : TaskState.failed;
    if (!(await this.#end(item, { ...finish, outcome, error }))) return 'duplicate';
    // The try is recorded before its follow-up is sent; a redelivery resends a follow-up that was lost.
    if (decision.retry) await this.#sendRetry(item.plan, message, decision.delayMs);
    else await this.#options.deadLetters.send([{ body: message }]);
    return outcome;
  }

  /** Ends a claimed try, or records an unclaimed one whole; false for a duplicate. */
  #end(item: Ran, request: FinishRequest): Promise<boolean> {
    if (item.claimed) return this.#options.tasks.finish(request);
    const { message } = item.delivery;
    return this.#options.tasks.claimAndFinish({
      ...request,
      target: this.target,
      workerId: this.#options.workerId,
      startedAt: item.startedAt,
      bytes: message.bytes,
      sha256: message.sha256,
    });
  }

  async #sendRetry(plan: JobPlan, message: ChunkMessage, delayMs: number): Promise<void> {
    const retry: ChunkMessage = { ...message, attempt: message.attempt + 1, previousTarget: this.target };
    const avoid = plan.retry.options.redistribute ? this.target : undefined;
    await this.#options.router.send(
      [{ message: retry, delayMs, ...(avoid !== undefined && { avoid }) }],
      plan.request.targets,
      plan.request.strategy,
    );
  }
}

/**
 * What the tries that ended here say of this target's health: a completion is a success, a retryable
 * failure a failure; a permanent failure is the chunk's fault, and a duplicate says nothing.
 */
const healthOutcomes = (ran: readonly Ran[], results: ReadonlyMap<string, DeliveryResult>): TargetOutcome[] =>
  ran.flatMap((item): TargetOutcome[] => {
    const result = results.get(item.delivery.id);
    const sentAt = item.delivery.message.routedAt;
    if (result === 'completed') return [{ outcome: 'success', sentAt }];
    if ((result === 'retrying' || result === 'failed') && item.error?.retryable)
      return [{ outcome: 'failure', sentAt }];
    return [];
  });

const groupByJob = <T extends { plan: JobPlan }>(items: readonly T[]): T[][] => {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.plan.jobId) ?? [];
    group.push(item);
    groups.set(item.plan.jobId, group);
  }
  return [...groups.values()];
};
