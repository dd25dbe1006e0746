import type { BreakerState } from '../core/breaker.ts';

/** How one dependency answered its probe; `error` says why it did not. */
export interface Probe {
  ok: boolean;
  error?: string;
}

export interface TargetReadiness {
  queue: Probe;
  breaker: BreakerState;
  /** Takes work now: its queue answers and its breaker is not open. */
  accepting: boolean;
}

/** Ready: every store answers, and at least one target takes work. */
export interface Readiness {
  ready: boolean;
  stores: Record<string, Probe>;
  targets: Record<string, TargetReadiness>;
}
