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

/** A try running past its deadline on a worker thread that has not been ended yet. */
export interface StuckTry {
  /** The thread, named as in a try's history: `{target}-{threadId}`. */
  thread: string;
  jobId: string;
  index: number;
  attempt: number;
  /** How long past its deadline (the sum of its steps' timeouts) it runs. */
  overdueMs: number;
}

/** Ready: every store answers, at least one target takes work, and no thread is stuck. */
export interface Readiness {
  ready: boolean;
  stores: Record<string, Probe>;
  targets: Record<string, TargetReadiness>;
  /** The embedded engine's stuck tries; none on the cloud, whose functions their platform stops. */
  stuck: StuckTry[];
}
