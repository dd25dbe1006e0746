import type { BreakerSnapshot } from '../core/breaker.ts';

/**
 * Each target's breaker, shared by every function that routes work to it or runs it: what one cloud's
 * processor learns of a target's failures takes the target out of rotation for ingest and for the other
 * cloud's processor too.
 */
export interface HealthStore {
  /** Every target's shared breaker, by target name; a target never recorded is absent (closed). */
  read(): Promise<Map<string, BreakerSnapshot>>;
  /**
   * Changes one target's breaker atomically: `change` gets the current snapshot (undefined when none) and
   * returns the next one. It may run more than once, when another writer got there first. Returns the
   * snapshot stored; nothing is written when `change` returns what it was given.
   */
  update(target: string, change: (current?: BreakerSnapshot) => BreakerSnapshot): Promise<BreakerSnapshot>;
}
