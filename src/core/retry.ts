import type { ErrorRecord } from './errors.ts';

export interface RetryOptions {
  /**
   * Tries in all, the first one included.
   * @default 4
   */
  maxAttempts: number;
  /** @default 100 */
  baseDelayMs: number;
  /** @default 2 */
  factor: number;
  /** @default 10000 */
  maxDelayMs: number;
  /**
   * Send a retry to another target than the one that failed, whenever another healthy one exists.
   * @default true
   */
  redistribute: boolean;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 4,
  baseDelayMs: 100,
  factor: 2,
  maxDelayMs: 10_000,
  redistribute: true,
};

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'permanent' | 'exhausted' };

/** Decides whether a failed attempt is tried again, and after how long. */
export class RetryPolicy {
  readonly options: RetryOptions;
  readonly #random: () => number;

  constructor(options: Partial<RetryOptions> = {}, random: () => number = Math.random) {
    this.options = { ...DEFAULT_RETRY, ...options };
    this.#random = random;
  }

  /** The ceiling of the wait before try `attempt + 1`: base * factor^(attempt - 1), capped. */
  ceilingMs(attempt: number): number {
    const { baseDelayMs, factor, maxDelayMs } = this.options;
    return Math.min(maxDelayMs, baseDelayMs * factor ** (attempt - 1));
  }

  /** Full jitter: a uniform wait between 0 and the ceiling, so that retries of a burst spread out. */
  backoffMs(attempt: number): number {
    return Math.floor(this.#random() * this.ceilingMs(attempt));
  }

  decide(error: ErrorRecord, attempt: number): RetryDecision {
    if (!error.retryable) return { retry: false, reason: 'permanent' };
    if (attempt >= this.options.maxAttempts) return { retry: false, reason: 'exhausted' };
    return { retry: true, delayMs: this.backoffMs(attempt) };
  }
}
