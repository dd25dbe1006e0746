export const BreakerState = { closed: 'closed', open: 'open', halfOpen: 'half_open' } as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

export interface BreakerOptions {
  /**
   * Consecutive retryable failures that open the breaker.
   * @default 5
   */
  failureThreshold: number;
  /**
   * How long an open breaker refuses work before it lets a probe through.
   * @default 2000
   */
  resetTimeoutMs: number;
  /**
   * Probes in flight at once while half-open.
   * @default 1
   */
  halfOpenProbes: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, resetTimeoutMs: 2000, halfOpenProbes: 1 };

/**
 * One target's breaker. Closed: work flows. Open: no new work until the reset timeout passes.
 * Half-open: a few probes; one success closes it, one failure opens it again.
 */
export class CircuitBreaker {
  readonly options: BreakerOptions;
  readonly #now: () => number;
  #state: BreakerState = BreakerState.closed;
  #failures = 0;
  #openedAt = 0;
  #probes = 0;
  /** How often the breaker has opened: a stats figure. */
  opened = 0;

  constructor(options: Partial<BreakerOptions> = {}, now: () => number = Date.now) {
    this.options = { ...DEFAULT_BREAKER, ...options };
    this.#now = now;
  }

  get state(): BreakerState {
    if (this.#state === BreakerState.open && this.#now() >= this.reopensAt) this.#state = BreakerState.halfOpen;
    return this.#state;
  }

  /** When an open breaker lets its first probe through. */
  get reopensAt(): number {
    return this.#openedAt + this.options.resetTimeoutMs;
  }

  canAccept(): boolean {
    const state = this.state;
    if (state === BreakerState.closed) return true;
    return state === BreakerState.halfOpen && this.#probes < this.options.halfOpenProbes;
  }

  /** Call when work is sent through; counts probes while half-open. */
  onDispatch(): void {
    if (this.state === BreakerState.halfOpen) this.#probes++;
  }

  onSuccess(): void {
    // A late success of work sent before the breaker opened says nothing of the target now.
    if (this.state === BreakerState.open) return;
    this.#failures = 0;
    this.#probes = 0;
    this.#state = BreakerState.closed;
  }

  onFailure(): void {
    this.#failures++;
    const state = this.state;
    if (state === BreakerState.halfOpen || (state === BreakerState.closed && this.#failures >= this.options.failureThreshold)) {
      this.#state = BreakerState.open;
      this.#openedAt = this.#now();
      this.#probes = 0;
      this.opened++;
    }
  }
}
