import type { Balancer } from '../core/balancer.ts';
import { type BreakerSnapshot, BreakerState, CircuitBreaker } from '../core/breaker.ts';
import type { HealthStore } from '../ports/health-store.ts';

/** How work sent to a target at `sentAt` ended, as far as the target's health goes. */
export interface TargetOutcome {
  outcome: 'success' | 'failure';
  sentAt: number;
}

export interface TargetHealthOptions {
  /** Where the breakers are shared; without one, each process knows only what it saw itself. @default none */
  store?: HealthStore;
  /**
   * How long a read of the shared breakers serves routing before the next read: how soon a target that
   * another function saw fail leaves this one's rotation.
   * @default 1000
   */
  refreshMs?: number;
  /**
   * Told when the store cannot be read or written. Routing goes on with what this function knows, and the
   * next refresh reads the store again.
   * @default ignores it
   */
  onError?: (error: unknown) => void;
  /** @default Date.now */
  now?: () => number;
}

const isQuiet = (snapshot: BreakerSnapshot): boolean =>
  snapshot.state === BreakerState.closed && snapshot.failures === 0;

/**
 * Keeps a balancer's breakers in step with the breakers every function shares: reads them before routing
 * (at most once per `refreshMs`), and records what this function saw, so that one cloud's failures take
 * the target out of rotation for ingest and for the other cloud's processor as well.
 */
export class TargetHealth {
  readonly #balancer: Balancer;
  readonly #store: HealthStore | undefined;
  readonly #refreshMs: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(balancer: Balancer, options: TargetHealthOptions = {}) {
    this.#balancer = balancer;
    this.#store = options.store;
    this.#refreshMs = options.refreshMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
  }

  /** Takes on the shared breakers, unless they were read within `refreshMs`. */
  async refresh(): Promise<void> {
    if (this.#store === undefined || this.#now() - this.#readAt < this.#refreshMs) return;
    this.#readAt = this.#now();
    const shared = await this.#store.read().catch((error: unknown) => {
      this.#onError(error);
      return new Map<string, BreakerSnapshot>();
    });
    for (const name of this.#balancer.names) {
      const snapshot = shared.get(name);
      if (snapshot !== undefined) this.#balancer.breaker(name).restore(snapshot);
    }
  }

  /** Applies outcomes to the target's breaker, here and in the store. */
  async record(target: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    await this.refresh();
    const breaker = this.#balancer.breaker(target);
    // Successes on a quiet breaker change nothing: the happy path writes nothing, and reads the shared
    // breakers once per refresh interval.
    if (outcomes.every((o) => o.outcome === 'success') && isQuiet(breaker.snapshot())) return;
    const apply = (snapshot?: BreakerSnapshot): BreakerSnapshot => {
      const next = new CircuitBreaker(breaker.options, this.#now);
      if (snapshot !== undefined) next.restore(snapshot);
      for (const { outcome, sentAt } of outcomes) {
        if (outcome === 'success') next.onSuccess(sentAt);
        else next.onFailure(sentAt);
      }
      return next.snapshot();
    };
    breaker.restore(apply(breaker.snapshot()));
    if (this.#store === undefined) return;
    try {
      breaker.restore(await this.#store.update(target, apply));
    } catch (error) {
      this.#onError(error);
    }
  }
}
