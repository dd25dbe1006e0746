import type { Balancer } from '../core/balancer.ts';
import { PRIORITIES, type Priority, type Strategy } from '../core/constants.ts';
import type { Costing } from '../core/cost/costing.ts';
import { TargetUnavailableError } from '../core/errors.ts';
import type { Lanes } from '../core/lanes.ts';
import type { TargetNow } from '../core/stats/report.ts';
import { probe, readiness } from '../lifecycle/readiness.ts';
import type { Queue } from '../ports/queue.ts';
import type { Readiness } from '../ports/readiness.ts';
import type { ChunkMessage } from './messages.ts';
import type { TargetHealth, TargetOutcome } from './target-health.ts';

export interface Route {
  message: ChunkMessage;
  /** The target that just failed this chunk: passed over whenever another one accepts work. */
  avoid?: string;
  delayMs?: number;
}

/**
 * Where a job's tries go: the targets to pick among, how to pick, and the lane they travel in on
 * whichever target is picked. A job's request is one; so is the same with fewer targets.
 */
export interface Dispatch {
  targets: readonly string[];
  strategy: Strategy;
  priority: Priority;
}

/** A target's queues, one a lane; lanes may share a queue. */
export type LaneQueues = Lanes<Queue<ChunkMessage>>;

/**
 * Sends tries to the targets' queues: the balancer picks each one's target among the job's, each try
 * goes to its job's lane there, and the sends to one queue go out together. A target is any queue (SQS, Pub/Sub), which is what lets a retry
 * move to the other cloud. A queue that refuses a send counts against its target's breaker, and the
 * tries it refused go to the other targets; a send that timed out may still have arrived, which is
 * harmless, since only one delivery of a try can claim it.
 */
export class Router {
  readonly #balancer: Balancer;
  readonly #queues: ReadonlyMap<string, LaneQueues>;
  readonly #health: TargetHealth;
  /** How the targets' tries are priced: each target as the cloud its queue is on. */
  readonly costing: Costing;

  constructor(
    balancer: Balancer,
    queues: ReadonlyMap<string, LaneQueues>,
    health: TargetHealth,
    costing: Costing,
  ) {
    this.#balancer = balancer;
    this.#queues = queues;
    this.#health = health;
    this.costing = costing;
  }

  get targets(): string[] {
    return [...this.#queues.keys()];
  }

  /** Whether any of the targets takes work now, as the shared breakers say. */
  async accepts(among: readonly string[]): Promise<boolean> {
    await this.#health.refresh();
    return this.#balancer.accepts(among);
  }

  /** How long until work among the targets may be tried again (see `Balancer.retryAfterMs`). */
  retryAfterMs(among: readonly string[]): number {
    return this.#balancer.retryAfterMs(among);
  }

  /**
   * Each target's shared breaker. No work in flight: a function sees only its own, which is none once
   * its sends have left.
   */
  async breakers(): Promise<TargetNow[]> {
    await this.#health.refresh();
    return this.#balancer
      .loads()
      .map(({ name, breaker, breakerOpened, changes }) => ({ name, breaker, breakerOpened, changes }));
  }

  /** The stores' probes, with each target's queues probed (every lane's) and its shared breaker. */
  async readiness(stores: Record<string, () => Promise<unknown>>): Promise<Readiness> {
    // Bounded as a probe is: a health store that does not answer leaves this function's own breakers.
    await probe(() => this.#health.refresh());
    return readiness(stores, this.#balancer, (name) => {
      const lanes = this.#queues.get(name) as LaneQueues;
      const queues = new Set(PRIORITIES.map((lane) => lanes[lane]));
      return { probe: () => Promise.all([...queues].map((queue) => queue.probe())) };
    });
  }

  /** Records how tries on a target ended, for its breaker here and wherever breakers are shared. */
  record(target: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    return this.#health.record(target, outcomes);
  }

  /**
   * Sends each route's try to a target among `dispatch.targets`, in lane `dispatch.priority` there. The
   * tries a queue refused go to the other targets, in the same lane; a {@link TargetUnavailableError}
   * when none is left.
   */
  async send(routes: readonly Route[], dispatch: Dispatch): Promise<void> {
    const { targets: among, strategy, priority } = dispatch;
    await this.#health.refresh();
    const byTarget = new Map<string, Route[]>();
    const routedAt = Date.now();
    for (const route of routes) {
      const { avoid } = route;
      const target = this.#balancer.pick({
        among,
        strategy,
        bytes: route.message.bytes,
        ...(avoid !== undefined && { avoid }),
      });
      if (target === undefined || !this.#queues.has(target))
        throw new TargetUnavailableError(among.join(', '));
      // The processor on the other side reports the target's health. A probe of a half-open target keeps
      // its slot until the shared breakers are read again, so one probe goes out, not a flood.
      this.#balancer.handOver(target);
      const sends = byTarget.get(target) ?? [];
      sends.push({ ...route, message: { ...route.message, routedAt } });
      byTarget.set(target, sends);
    }
    const refused = await Promise.all(
      [...byTarget].map(async ([target, sent]) => {
        try {
          await this.#queues
            .get(target)
            ?.[priority].send(sent.map(({ message, delayMs = 0 }) => ({ body: message, delayMs })));
          return [];
        } catch (error) {
          await this.#health.record(
            target,
            sent.map(() => ({ outcome: 'failure', sentAt: routedAt })),
          );
          return [{ target, sent, error }];
        }
      }),
    );
    const failures = refused.flat();
    if (failures.length === 0) return;
    const others = among.filter((name) => !failures.some((f) => f.target === name));
    if (others.length === 0)
      throw new TargetUnavailableError(among.join(', '), { cause: failures[0]?.error });
    try {
      await this.send(
        failures.flatMap((f) => f.sent),
        { ...dispatch, targets: others },
      );
    } catch (error) {
      // Named by every target that refused, not only the last one tried.
      if (error instanceof TargetUnavailableError)
        throw new TargetUnavailableError(among.join(', '), { cause: error.cause });
      throw error;
    }
  }
}
