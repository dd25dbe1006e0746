import type { Balancer } from '../core/balancer.ts';
import type { HealthStore } from '../ports/health-store.ts';

/**
 * A durable engine's breakers across restarts: each target's breaker is kept in the health store when it
 * changes state (not at each failure it counts), and taken back at start, so a target that was out of
 * rotation when the process died stays out until its probe says otherwise.
 */
export class KeptBreakers {
  readonly #health: HealthStore;
  readonly #balancer: Balancer;
  readonly #targets: readonly string[];
  /** The state each breaker was last kept in. */
  readonly #kept = new Map<string, string>();

  constructor(health: HealthStore, balancer: Balancer, targets: readonly string[]) {
    this.#health = health;
    this.#balancer = balancer;
    this.#targets = targets;
  }

  /** Takes back the breakers of this engine's targets as they were kept. */
  async restore(): Promise<void> {
    for (const [name, snapshot] of await this.#health.read()) {
      if (!this.#targets.includes(name)) continue;
      this.#balancer.breaker(name).restore(snapshot);
      this.#kept.set(name, snapshot.state);
    }
  }

  /** Keeps a target's breaker if its state changed since it was last kept; a failed write is tried next time. */
  reported(name: string): void {
    const snapshot = this.#balancer.breaker(name).snapshot();
    if (this.#kept.get(name) === snapshot.state) return;
    this.#kept.set(name, snapshot.state);
    this.#health.update(name, () => snapshot).catch(() => this.#kept.delete(name));
  }
}
