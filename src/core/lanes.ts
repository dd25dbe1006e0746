import { PRIORITIES, type Priority } from './constants.ts';

/** Each lane's share of a target's slots, in percent; the shares sum to 100. */
export type LaneShares = Readonly<Record<Priority, number>>;

/** One thing per lane: a target's queues, their addresses, their names. */
export type Lanes<T> = Readonly<Record<Priority, T>>;

/** The same thing in every lane: a target whose lanes share one queue. */
export const everyLane = <T>(value: T): Lanes<T> => ({ high: value, medium: value, low: value });

/** Each lane's `make(lane)`, highest first. */
export const byLane = <T>(make: (lane: Priority) => T): Lanes<T> =>
  Object.fromEntries(PRIORITIES.map((lane) => [lane, make(lane)])) as Record<Priority, T>;

/** Most slots for urgent work, a tenth for backfills: `priority.shares`'s default. */
export const DEFAULT_LANE_SHARES: LaneShares = { high: 60, medium: 30, low: 10 };

/**
 * Which lane a free slot of a target serves. The highest lane with work waiting, unless a lower one is
 * owed its share: while a lane waits, it earns its share of every try given out (aging), and once it has
 * earned a whole try it is served, then pays for what it took. So a lane that always has work gets at
 * least its share of the tries, and higher lanes take what the others leave. A lane that runs empty
 * forgets what it had earned or owed: a share is a floor under waiting work, not a bank.
 */
export class LaneScheduler {
  readonly #shares: LaneShares;
  readonly #credit: Record<Priority, number> = { high: 0, medium: 0, low: 0 };

  constructor(shares: LaneShares = DEFAULT_LANE_SHARES) {
    this.#shares = shares;
  }

  /** The lane to serve among those with work waiting; undefined when none has. */
  next(waiting: readonly Priority[]): Priority | undefined {
    for (const lane of PRIORITIES) if (!waiting.includes(lane)) this.#credit[lane] = 0;
    const owed = waiting.filter((lane) => this.#owed(lane));
    if (owed.length > 0)
      return owed.reduce((most, lane) => (this.#credit[lane] > this.#credit[most] ? lane : most));
    return PRIORITIES.find((lane) => waiting.includes(lane));
  }

  /**
   * Counts `tries` given to `served` while the lanes in `waiting` had work: each waiting lane earns its
   * share of them, and the one served pays for them. A lane served ahead of what it was owed (the highest
   * lane, served first) owes nothing for it.
   */
  served(served: Priority, tries: number, waiting: readonly Priority[]): void {
    const owed = this.#owed(served);
    for (const lane of waiting) this.#credit[lane] += this.#shares[lane] * tries;
    this.#credit[served] -= 100 * tries;
    if (!owed) this.#credit[served] = Math.max(0, this.#credit[served]);
  }

  /** Whether a lane has earned a whole try, counting what it earns while the next one is given out. */
  #owed(lane: Priority): boolean {
    return this.#credit[lane] + this.#shares[lane] >= 100;
  }
}

/**
 * Splits `total` slots (a function's instances, a queue's concurrency) between the lanes by their shares:
 * each lane gets its share rounded to a whole slot, at least `least`, and the slots add up to `total`
 * (what rounding leaves goes to the lanes furthest below their share, what it overdraws comes from those
 * furthest above it). `total` must be at least `least` a lane.
 */
export const splitByShares = (total: number, shares: LaneShares, least = 1): Record<Priority, number> => {
  const ideal = (lane: Priority) => (total * shares[lane]) / 100;
  const slots = Object.fromEntries(
    PRIORITIES.map((lane) => [lane, Math.max(least, Math.floor(ideal(lane)))]),
  ) as Record<Priority, number>;
  const gap = (lane: Priority) => ideal(lane) - slots[lane];
  let given = PRIORITIES.reduce((sum, lane) => sum + slots[lane], 0);
  for (; given < total; given++) {
    const lane = PRIORITIES.reduce((most, next) => (gap(next) > gap(most) ? next : most));
    slots[lane] += 1;
  }
  for (; given > total; given--) {
    const above = PRIORITIES.filter((lane) => slots[lane] > least);
    const lane = above.reduce((most, next) => (gap(next) < gap(most) ? next : most));
    slots[lane] -= 1;
  }
  return slots;
};
