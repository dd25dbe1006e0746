import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRIORITIES, type Priority } from '../../src/core/constants.ts';
import { DEFAULT_LANE_SHARES, LaneScheduler, type LaneShares, splitByShares } from '../../src/core/lanes.ts';

/** Gives `picks` batches of `batch` tries to the lanes in `waiting`, all of them always waiting; the tries each got. */
const serve = (scheduler: LaneScheduler, waiting: readonly Priority[], picks: number, batch = 1) => {
  const order: Priority[] = [];
  for (let i = 0; i < picks; i++) {
    const lane = scheduler.next(waiting) as Priority;
    scheduler.served(lane, batch, waiting);
    for (let t = 0; t < batch; t++) order.push(lane);
  }
  return order;
};

const share = (order: readonly Priority[], lane: Priority): number =>
  order.filter((l) => l === lane).length / order.length;

describe('LaneScheduler', () => {
  it('serves the highest lane with work when no lane is owed', () => {
    // Prepare
    const scheduler = new LaneScheduler();

    // Act
    const first = scheduler.next(['low', 'high']);
    const alone = new LaneScheduler().next(['low']);
    const none = new LaneScheduler().next([]);

    // Assess
    expect(first).toBe('high');
    expect(alone).toBe('low');
    expect(none).toBeUndefined();
  });

  it('gives a low lane under a steady stream of high work exactly its 10% share', () => {
    // Prepare
    const scheduler = new LaneScheduler();

    // Act
    const order = serve(scheduler, ['high', 'low'], 1000);

    // Assess
    expect(share(order, 'low')).toBeCloseTo(0.1, 2);
    expect(order.slice(0, 10)).toEqual([...Array(9).fill('high'), 'low']);
  });

  it('gives every lane its share when all three wait, the highest taking what is left', () => {
    // Prepare
    const scheduler = new LaneScheduler();

    // Act
    const order = serve(scheduler, PRIORITIES, 3000);

    // Assess
    expect(share(order, 'high')).toBeCloseTo(0.6, 2);
    expect(share(order, 'medium')).toBeCloseTo(0.3, 2);
    expect(share(order, 'low')).toBeCloseTo(0.1, 2);
  });

  it('counts tries, not batches: a batch of 16 is paid for by 16 tries of waiting', () => {
    // Prepare
    const scheduler = new LaneScheduler({ high: 80, medium: 10, low: 10 });

    // Act
    const order = serve(scheduler, ['high', 'low'], 500, 16);

    // Assess
    expect(share(order, 'low')).toBeGreaterThanOrEqual(0.1 - 16 / order.length);
    expect(share(order, 'low')).toBeLessThanOrEqual(0.1 + 16 / order.length);
  });

  it('forgets what a lane earned once it ran empty: a share is not a bank', () => {
    // Prepare
    const scheduler = new LaneScheduler();
    serve(scheduler, ['high', 'low'], 9);

    // Act
    scheduler.next(['high']);
    const after = serve(scheduler, ['high', 'low'], 9);

    // Assess
    expect(after).toEqual(Array(9).fill('high'));
  });

  it('property: a lane that always waits gets its share between its first and its last try, less one batch a lane', () => {
    const sharesArb = fc
      .tuple(fc.integer({ min: 1, max: 98 }), fc.integer({ min: 1, max: 98 }))
      .filter(([a, b]) => a + b <= 99)
      .map(([medium, low]): LaneShares => ({ high: 100 - medium - low, medium, low }));
    const waitingArb = fc.subarray([...PRIORITIES], { minLength: 1 });
    fc.assert(
      fc.property(sharesArb, waitingArb, fc.integer({ min: 1, max: 16 }), (shares, waiting, batch) => {
        const order = serve(new LaneScheduler(shares), waiting, 400, batch);
        for (const lane of waiting) {
          const first = order.indexOf(lane);
          const last = order.lastIndexOf(lane);
          expect(first).toBeGreaterThanOrEqual(0);
          const window = order.slice(first, last + 1);
          // Two lanes owed at once take turns: the one that waits lags by at most a batch of each other lane.
          const lag = (batch * waiting.length) / window.length;
          if (lane !== waiting[0])
            expect(share(window, lane)).toBeGreaterThanOrEqual(shares[lane] / 100 - lag);
        }
      }),
    );
  });

  it('keeps the default split of 60/30/10', () => {
    expect(DEFAULT_LANE_SHARES).toEqual({ high: 60, medium: 30, low: 10 });
  });
});

describe('splitByShares', () => {
  it('gives each lane at least the least, never more than its share rounded up unless the least lifted it, a larger share never less, and all the slots in total', () => {
    // Prepare: every split of 100 into three whole shares of at least 1.
    const shares = fc
      .tuple(fc.integer({ min: 1, max: 98 }), fc.integer({ min: 1, max: 98 }))
      .filter(([high, medium]) => high + medium <= 99)
      .map(([high, medium]): LaneShares => ({ high, medium, low: 100 - high - medium }));
    const totals = fc.integer({ min: 3, max: 40 });
    const leasts = fc.integer({ min: 1, max: 2 });

    // Act, Assess
    fc.assert(
      fc.property(shares, totals, leasts, (split, total, least) => {
        fc.pre(total >= least * PRIORITIES.length);
        const slots = splitByShares(total, split, least);
        expect(PRIORITIES.reduce((sum, lane) => sum + slots[lane], 0)).toBe(total);
        for (const lane of PRIORITIES) {
          expect(slots[lane]).toBeGreaterThanOrEqual(least);
          expect(slots[lane]).toBeLessThanOrEqual(Math.max(least, Math.ceil((total * split[lane]) / 100)));
          for (const other of PRIORITIES)
            if (split[lane] > split[other]) expect(slots[lane]).toBeGreaterThanOrEqual(slots[other]);
        }
      }),
    );
  });

  it('splits 10 slots 6/3/1 by the default shares', () => {
    // Act
    const slots = splitByShares(10, DEFAULT_LANE_SHARES);

    // Assess
    expect(slots).toEqual({ high: 6, medium: 3, low: 1 });
  });
});
