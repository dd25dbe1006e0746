import { describe, expect, it } from 'vitest';
import type { TargetLoad } from '../../src/core/balancer.ts';
import { summarize } from '../../src/core/stats/report.ts';
import { StatsCollector } from '../../src/core/stats/stats.ts';
import { targetViews } from '../../src/core/stats/targets.ts';
import { LIST_COSTING } from '../support/costing.ts';

/** Three tries on gcp (completed, retrying, failed) and one completed on aws. */
const tries = () => {
  const c = new StatsCollector();
  const ended = { attempt: 1, startedAt: 1_000, endedAt: 1_100, durationMs: 100, bytesIn: 10 };
  c.attemptStarted('gcp', 1, undefined, 1_000);
  c.attemptEnded({ ...ended, target: 'gcp', outcome: 'completed', bytesOut: 10 });
  c.attemptStarted('gcp', 1, undefined, 1_000);
  c.attemptEnded({ ...ended, target: 'gcp', outcome: 'retrying', retryable: true });
  c.attemptStarted('gcp', 1, undefined, 1_000);
  c.attemptEnded({ ...ended, target: 'gcp', outcome: 'failed', retryable: false });
  c.attemptStarted('aws', 1, undefined, 1_000);
  c.attemptEnded({ ...ended, target: 'aws', outcome: 'completed', bytesOut: 10 });
  return c.snapshot();
};

describe('targetViews', () => {
  it('shows every target now known, tried or not, with its success rate and breaker changes', () => {
    // Prepare
    const loads: TargetLoad[] = [
      {
        name: 'gcp',
        inFlight: 2,
        load: 0.5,
        breaker: 'open',
        breakerOpened: 1,
        changes: [{ at: 0, from: 'closed', to: 'open' }],
      },
      { name: 'aws', inFlight: 0, load: 0, breaker: 'closed', breakerOpened: 0, changes: [] },
      { name: 'azure', inFlight: 0, load: 0, breaker: 'closed', breakerOpened: 0, changes: [] },
    ];

    // Act
    const views = targetViews(summarize(tries(), LIST_COSTING, loads), loads);

    // Assess
    expect(Object.keys(views)).toEqual(['gcp', 'aws', 'azure']);
    expect(views.gcp).toMatchObject({
      breaker: 'open',
      breakerOpened: 1,
      changes: [{ at: '1970-01-01T00:00:00.000Z', from: 'closed', to: 'open' }],
      inFlight: 2,
      load: 0.5,
      attempts: 3,
      completed: 1,
      retryableFailures: 1,
      permanentFailures: 1,
      successRate: 0.3333,
    });
    expect(views.aws?.successRate).toBe(1);
    expect(views.azure).toMatchObject({ attempts: 0, successRate: 0, changes: [], durationMs: { count: 0 } });
  });

  it('leaves out the work in flight where it is not known (a cloud function)', () => {
    // Prepare
    const breakers = [{ name: 'aws', breaker: 'closed', breakerOpened: 0 }] as const;

    // Act
    const views = targetViews(summarize(tries(), LIST_COSTING, breakers), breakers);

    // Assess
    expect(views.aws).not.toHaveProperty('inFlight');
    expect(views.aws).not.toHaveProperty('load');
    expect(views.aws?.changes).toEqual([]);
  });
});
