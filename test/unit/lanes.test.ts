import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRIORITIES, type Priority } from '../../src/core/constants.ts';
import { DEFAULT_LANE_SHARES, LaneScheduler, type LaneShares } from '../../src/core/lanes.ts';

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
