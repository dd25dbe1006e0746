import { isDeepStrictEqual } from 'node:util';
import type { BreakerSnapshot } from '../../core/breaker.ts';
import type { HealthStore } from '../../ports/health-store.ts';

/** Breakers in this process's memory: each update runs to completion on the event loop. */
export class MemoryHealthStore implements HealthStore {
  readonly #breakers = new Map<string, BreakerSnapshot>();

  async read(): Promise<Map<string, BreakerSnapshot>> {
    return new Map(this.#breakers);
  }

  async update(
    target: string,
    change: (current?: BreakerSnapshot) => BreakerSnapshot,
  ): Promise<BreakerSnapshot> {
    const current = this.#breakers.get(target);
    const next = change(current);
    if (!isDeepStrictEqual(next, current)) this.#breakers.set(target, next);
    return next;
  }
}
