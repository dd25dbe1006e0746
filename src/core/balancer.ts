import { type BreakerChange, type BreakerOptions, BreakerState, CircuitBreaker } from './breaker.ts';
import { Strategy } from './constants.ts';

export interface TargetOptions {
  name: string;
  /**
   * Share of the work under the `weighted` strategy.
   * @default 1
   */
  weight: number;
  /** Work the target runs at once (its workers): load is in-flight work divided by it. */
  capacity: number;
  /**
   * What a try of a chunk of so many bytes is modelled to cost here, for the `cheapest` strategy.
   * @default none: the target is the dearest
   */
  cost?: (bytes: number) => number;
}

export interface BalancerOptions {
  /** @default 'least_loaded' */
  strategy: Strategy;
  /**
   * When the chosen target's load exceeds the least-loaded one's by more than this, the least-loaded one
   * gets the work instead. Load is in-flight work over capacity. Does not apply to `least_loaded` itself.
   * @default 0.3
   */
  rebalanceThreshold: number;
}

export interface PickRequest {
  avoid?: string;
  among?: readonly string[];
  strategy?: Strategy;
  /** The size of the try's chunk, which `cheapest` prices it by. @default 0 */
  bytes?: number;
}

export type Outcome = 'success' | 'failure' | 'neutral';

interface Target extends TargetOptions {
  inFlight: number;
  breaker: CircuitBreaker;
  /** Smooth weighted round robin's running weight. */
  current: number;
}

export interface TargetLoad {
  name: string;
  inFlight: number;
  load: number;
  breaker: BreakerState;
  breakerOpened: number;
  /** The breaker's last changes, oldest first. */
  changes: readonly BreakerChange[];
}

/**
 * Chooses a target for each piece of work among those whose breakers accept it, and tracks the
 * in-flight work per target. `pick` and `release` must be paired.
 */
export class Balancer {
  readonly #targets: Target[];
  readonly #options: BalancerOptions;
  readonly #random: () => number;
  #next = 0;

  constructor(
    targets: readonly TargetOptions[],
    options: BalancerOptions,
    breaker: Partial<BreakerOptions> = {},
    clock: { now?: () => number; random?: () => number } = {},
  ) {
    this.#targets = targets.map((target) => ({
      ...target,
      inFlight: 0,
      current: 0,
      breaker: new CircuitBreaker(breaker, clock.now),
    }));
    this.#options = options;
    this.#random = clock.random ?? Math.random;
  }

  get names(): string[] {
    return this.#targets.map((t) => t.name);
  }

  /**
   * Chooses a target and counts the work as in flight on it. `avoid` (the target that just failed) is
   * passed over whenever another target accepts work; `among` limits the choice to a job's targets;
   * `strategy` overrides the default for one job; `bytes` is the chunk's size, which `cheapest` prices.
   * Whatever the strategy chose, a target whose load exceeds the lightest one's by more than the
   * rebalance threshold loses the try to the lightest: cost and turns never beat health. Undefined when
   * every breaker is open.
   */
  pick(request: PickRequest = {}): string | undefined {
    const { avoid, among, strategy = this.#options.strategy, bytes = 0 } = request;
    const open = this.#targets.filter(
      (t) => (among === undefined || among.includes(t.name)) && t.breaker.canAccept(),
    );
    const preferred = open.filter((t) => t.name !== avoid);
    const candidates = preferred.length > 0 ? preferred : open;
    if (candidates.length === 0) return undefined;
    let chosen = this.#choose(candidates, strategy, bytes);
    if (strategy !== Strategy.leastLoaded) {
      const lightest = this.#leastLoaded(candidates);
      if (this.#load(chosen) - this.#load(lightest) > this.#options.rebalanceThreshold) chosen = lightest;
    }
    chosen.inFlight++;
    chosen.breaker.onDispatch();
    return chosen.name;
  }

  /**
   * Ends a piece of work picked at `pickedAt`; `neutral` is an outcome that says nothing of the target's
   * health (a bad chunk).
   */
  release(name: string, outcome: Outcome, pickedAt: number): void {
    const target = this.#get(name);
    target.inFlight--;
    if (outcome === 'success') target.breaker.onSuccess(pickedAt);
    else if (outcome === 'failure') target.breaker.onFailure(pickedAt);
    else target.breaker.onNeutral(pickedAt);
  }

  /**
   * Work picked here that left for a queue: it no longer counts as in flight here, and its outcome is
   * reported elsewhere. A half-open probe keeps its slot until the breaker changes.
   */
  handOver(name: string): void {
    this.#get(name).inFlight--;
  }

  /** When the first open breaker lets a probe through; the time to try again when `pick` found none. */
  nextProbeAt(among?: readonly string[]): number {
    const targets = this.#targets.filter((t) => among === undefined || among.includes(t.name));
    return Math.min(...targets.map((t) => t.breaker.reopensAt));
  }

  /** Whether any of the targets takes work now (a closed breaker, or a half-open one with a probe free). */
  accepts(among: readonly string[]): boolean {
    return this.#targets.some((t) => among.includes(t.name) && t.breaker.canAccept());
  }

  /**
   * How long until work among the targets may be tried again: until the first open breaker lets a probe
   * through, or one reset timeout for a target whose breaker is not open (it refused the work all the same).
   */
  retryAfterMs(among: readonly string[], now = Date.now()): number {
    const waits = this.#targets
      .filter((t) => among.includes(t.name))
      .map(({ breaker }) =>
        breaker.state === BreakerState.open ? breaker.reopensAt - now : breaker.options.resetTimeoutMs,
      );
    return Math.max(0, Math.min(...waits));
  }

  /** A target's breaker: where a breaker shared across processes is read from and written back to. */
  breaker(name: string): CircuitBreaker {
    return this.#get(name).breaker;
  }

  loads(): TargetLoad[] {
    return this.#targets.map((t) => ({
      name: t.name,
      inFlight: t.inFlight,
      load: this.#load(t),
      breaker: t.breaker.state,
      breakerOpened: t.breaker.opened,
      changes: t.breaker.changes,
    }));
  }

  #choose(candidates: Target[], strategy: Strategy, bytes: number): Target {
    switch (strategy) {
      case Strategy.roundRobin:
        return candidates[this.#next++ % candidates.length] as Target;
      case Strategy.random:
        return candidates[Math.floor(this.#random() * candidates.length)] as Target;
      case Strategy.leastLoaded: {
        // Ties take turns: a router that cannot see load (the cloud's) then spreads work evenly.
        const least = this.#load(this.#leastLoaded(candidates));
        const tied = candidates.filter((t) => this.#load(t) === least);
        return tied[this.#next++ % tied.length] as Target;
      }
      case Strategy.weighted:
        return this.#smoothWeighted(candidates);
      case Strategy.cheapest:
        return this.#cheapest(candidates, bytes);
    }
  }

  /** The target where the chunk costs least; ties go to the lighter, then take turns. */
  #cheapest(candidates: Target[], bytes: number): Target {
    const costs = candidates.map((t) => t.cost?.(bytes) ?? Number.POSITIVE_INFINITY);
    const least = Math.min(...costs);
    const tied = candidates.filter((_, i) => costs[i] === least);
    const lightest = Math.min(...tied.map((t) => this.#load(t)));
    const lightestTied = tied.filter((t) => this.#load(t) === lightest);
    return lightestTied[this.#next++ % lightestTied.length] as Target;
  }

  #leastLoaded(candidates: Target[]): Target {
    return candidates.reduce((best, t) => (this.#load(t) < this.#load(best) ? t : best));
  }

  /** Nginx's smooth weighted round robin: exact shares, evenly interleaved. */
  #smoothWeighted(candidates: Target[]): Target {
    let total = 0;
    let best = candidates[0] as Target;
    for (const t of candidates) {
      t.current += t.weight;
      total += t.weight;
      if (t.current > best.current) best = t;
    }
    best.current -= total;
    return best;
  }

  #load(target: Target): number {
    return target.inFlight / target.capacity;
  }

  #get(name: string): Target {
    const target = this.#targets.find((t) => t.name === name);
    if (target === undefined) throw new RangeError(`unknown target ${name}`);
    return target;
  }
}
