import { PRIORITIES, type Priority } from './constants.ts';

/** Each lane's share of a target's slots, in percent; the shares sum to 100. */
export type LaneShares = Readonly<Record<Priority, number>>;

/** One thing per lane: a target's queues, their addresses, their names. */
export type Lanes<T> = Readonly<Record<Priority, T>>;

/** Each lane's `make(lane)`, highest first. */
export const byLane = <T>(make: (lane: Priority) => T): Lanes<T> =>
  Object.fromEntries(PRIORITIES.map((lane) => [lane, make(lane)])) as Record<Priority, T>;

/** Most slots for urgent work, a tenth for backfills: `priority.shares`'s default. */
export const DEFAULT_LANE_SHARES: LaneShares = { high: 60, medium: 30, low: 10 };

/**
 * `slots` shared out by `shares`, in whole slots that sum to `slots`: each lane gets its share rounded
 * down, then the slots left go to the lanes with the largest remainders (the higher lane on a tie).
 * 20 slots at 60/30/10 are 12/6/2; 6 at 34/33/33 are 2/2/2.
 */
export const apportion = (slots: number, shares: LaneShares): Lanes<number> => {
  const exact = byLane((lane) => (slots * shares[lane]) / 100);
  const given = byLane((lane) => Math.floor(exact[lane]));
  const left = slots - PRIORITIES.reduce((sum, lane) => sum + given[lane], 0);
  const byRemainder = [...PRIORITIES].sort(
    (a, b) => exact[b] - given[b] - (exact[a] - given[a]) || PRIORITIES.indexOf(a) - PRIORITIES.indexOf(b),
  );
  const extra = new Set(byRemainder.slice(0, left));
  return byLane((lane) => given[lane] + (extra.has(lane) ? 1 : 0));
};

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
