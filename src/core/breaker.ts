export const BreakerState = { closed: 'closed', open: 'open', halfOpen: 'half_open' } as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

export interface BreakerOptions {
  /**
   * Consecutive retryable failures that open the breaker. High enough that a 20% random failure rate
   * almost never opens it (0.2^10 per try), low enough that an outage opens it within a second.
   * @default 10
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

export const DEFAULT_BREAKER: BreakerOptions = {
  failureThreshold: 10,
  resetTimeoutMs: 2000,
  halfOpenProbes: 1,
};

/** Breaker changes a breaker keeps, oldest dropped first: what a dashboard draws of a target's past. */
export const MAX_BREAKER_CHANGES = 100;

/** One change of a breaker's state, at epoch ms `at`. */
export interface BreakerChange {
  at: number;
  from: BreakerState;
  to: BreakerState;
}

/**
 * What a breaker knows, as plain data: how a breaker shared by several processes is stored and read back
 * (see `HealthStore`). Probes in flight stay with each process.
 */
export interface BreakerSnapshot {
  state: BreakerState;
  failures: number;
  openedAt: number;
  /** Omitted while the breaker has never opened. */
  changedAt?: number;
  opened: number;
  /** When the breaker last opened from closed: how long its target has been out. Omitted while closed. */
  downSince?: number;
  /** Its last `MAX_BREAKER_CHANGES` changes, oldest first. Omitted while it never changed. */
  changes?: readonly BreakerChange[];
}

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
  /** When the breaker last opened or half-opened: outcomes of work sent before then are stale. */
  #changedAt = Number.NEGATIVE_INFINITY;
  /** How often the breaker has opened: a stats figure. */
  opened = 0;
  #downSince: number | undefined;
  /** Replaced, never changed in place: a snapshot shares it without a copy. */
  #changes: readonly BreakerChange[] = [];

  constructor(options: Partial<BreakerOptions> = {}, now: () => number = Date.now) {
    this.options = { ...DEFAULT_BREAKER, ...options };
    this.#now = now;
  }

  get state(): BreakerState {
    if (this.#state === BreakerState.open && this.#now() >= this.reopensAt) {
      // Noted when it came due, not when first read: every reader of a shared breaker notes the same time.
      this.#change(BreakerState.halfOpen, this.reopensAt);
      this.#changedAt = this.#now();
    }
    return this.#state;
  }

  /** Its last changes, oldest first. */
  get changes(): readonly BreakerChange[] {
    return this.#changes;
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

  /**
   * Reports the outcome of work sent at `sentAt`. Work sent before the breaker last opened or half-opened
   * says nothing of the target now: a burst of late failures must not keep an open breaker shut, and a
   * late success must not close it.
   */
  onSuccess(sentAt: number): void {
    if (sentAt < this.#changedAt || this.state === BreakerState.open) return;
    this.#failures = 0;
    this.#probes = 0;
    if (this.#state !== BreakerState.closed) this.#change(BreakerState.closed, this.#now());
    this.#downSince = undefined;
  }

  /** An outcome that says nothing of the target (a bad chunk): a probe it ended frees its slot. */
  onNeutral(sentAt: number): void {
    if (sentAt >= this.#changedAt && this.state === BreakerState.halfOpen && this.#probes > 0) this.#probes--;
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    return {
      state,
      failures: this.#failures,
      openedAt: this.#openedAt,
      ...(Number.isFinite(this.#changedAt) && { changedAt: this.#changedAt }),
      opened: this.opened,
      ...(this.#downSince !== undefined && { downSince: this.#downSince }),
      ...(this.#changes.length > 0 && { changes: this.#changes }),
    };
  }

  /** Takes on a snapshot's state; probes in flight start again from none. */
  restore(snapshot: BreakerSnapshot): void {
    this.#state = snapshot.state;
    this.#failures = snapshot.failures;
    this.#openedAt = snapshot.openedAt;
    this.#changedAt = snapshot.changedAt ?? Number.NEGATIVE_INFINITY;
    this.opened = snapshot.opened;
    this.#downSince = snapshot.downSince;
    this.#changes = snapshot.changes ?? [];
    this.#probes = 0;
  }

  onFailure(sentAt: number): void {
    if (sentAt < this.#changedAt) return;
    this.#failures++;
    const state = this.state;
    if (
      state === BreakerState.halfOpen ||
      (state === BreakerState.closed && this.#failures >= this.options.failureThreshold)
    ) {
      this.#openedAt = this.#now();
      this.#change(BreakerState.open, this.#openedAt);
      this.#changedAt = this.#openedAt;
      this.#probes = 0;
      this.opened++;
      this.#downSince ??= this.#openedAt;
    }
  }

  #change(to: BreakerState, at: number): void {
    const change = { at, from: this.#state, to };
    this.#changes = [...this.#changes.slice(1 - MAX_BREAKER_CHANGES), change];
    this.#state = to;
  }
}
