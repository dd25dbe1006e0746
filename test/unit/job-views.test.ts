import { describe, expect, it } from 'vitest';
import { cloudJobView, withBreakers } from '../../src/cloud/job-views.ts';
import { type BreakerSnapshot, BreakerState } from '../../src/core/breaker.ts';
import { JobEventFeed } from '../../src/core/job-events.ts';
import { StatsCollector } from '../../src/core/stats/stats.ts';
import { LIST_COSTING } from '../support/costing.ts';

const T0 = 1_700_000_000_000;

/** A cloud job of two chunks, one try ended on each target. */
const viewOfJob = () => {
  const stats = new StatsCollector();
  for (const [index, target] of ['aws', 'gcp'].entries()) {
    stats.taskCreated(100);
    stats.attemptStarted(target, 1, undefined, T0 + index);
    stats.attemptEnded({
      target,
      attempt: 1,
      outcome: 'retrying',
      startedAt: T0 + index,
      endedAt: T0 + 10,
      durationMs: 10,
      bytesIn: 100,
      retryable: true,
    });
  }
  return cloudJobView(
    { jobId: 'job-1', createdAt: T0, chunksTotal: 2, options: {} },
    stats.snapshot(),
    LIST_COSTING,
  );
};

const breaker = (state: BreakerSnapshot['state']): BreakerSnapshot => ({
  state,
  failures: 0,
  openedAt: 0,
  opened: 0,
});

describe('withBreakers', () => {
  it("gives each target of a cloud job's view its shared breaker, closed when none is recorded", () => {
    // Act
    const view = withBreakers(viewOfJob(), new Map([['aws', breaker(BreakerState.open)]]));

    // Assess
    expect(view.stats.targets.aws?.breaker).toBe('open');
    expect(view.stats.targets.gcp?.breaker).toBe('closed');
  });

  it('lets the event feed tell a breaker that opened, once', () => {
    // Prepare
    const feed = new JobEventFeed();
    const closed = new Map([['aws', breaker(BreakerState.closed)]]);
    const open = new Map([['aws', breaker(BreakerState.open)]]);

    // Act
    feed.view(withBreakers(viewOfJob(), closed));
    feed.view(withBreakers(viewOfJob(), open));
    feed.view(withBreakers(viewOfJob(), open));

    // Assess
    const breakers = feed.log.since(0).filter((event) => event.type === 'breaker');
    expect(breakers.map((event) => event.data)).toEqual([{ target: 'aws', from: 'closed', to: 'open' }]);
  });
});
