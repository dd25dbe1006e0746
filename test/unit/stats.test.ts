import { describe, expect, it } from 'vitest';
import type { TargetLoad } from '../../src/core/balancer.ts';
import { summarize } from '../../src/core/stats/report.ts';
import { emptyStats, mergeStats, StatsCollector } from '../../src/core/stats/stats.ts';
import { LIST_COSTING } from '../support/costing.ts';
import { seededRandom } from '../support/prng.ts';

type Event = (collector: StatsCollector) => void;

/**
 * The events of one task, from creation to its final try: each try on a random target ends completed,
 * failed for good, or retrying (failed for good at the fourth), with a random duration.
 */
const taskEvents = (random: () => number, targets: readonly string[], startAt: number): Event[] => {
  const bytesIn = 100 + Math.floor(random() * 10_000);
  const events: Event[] = [(c) => c.taskCreated(bytesIn)];
  let previous: string | undefined;
  let at = startAt;
  for (let attempt = 1; ; attempt++) {
    const target = targets[Math.floor(random() * targets.length)] as string;
    const roll = random();
    const outcome = roll < 0.6 ? 'completed' : roll < 0.7 || attempt === 4 ? 'failed' : 'retrying';
    const durationMs = random() * 800;
    const startedAt = at;
    const endedAt = at + durationMs;
    const from = previous;
    events.push(
      (c) => c.attemptStarted(target, attempt, from, startedAt),
      (c) =>
        c.attemptEnded({
          target,
          attempt,
          outcome,
          startedAt,
          endedAt,
          durationMs,
          bytesIn,
          ...(outcome === 'completed' && { bytesOut: Math.floor(bytesIn / 3) }),
          retryable: roll >= 0.7,
        }),
    );
    if (random() < 0.1) events.push((c) => c.duplicateDropped());
    if (outcome !== 'retrying') return events;
    previous = target;
    at = endedAt + random() * 50;
  }
};

describe('mergeStats', () => {
  it('of two collectors equals one collector fed all their events', () => {
    // Prepare
    const random = seededRandom(21);
    const all = new StatsCollector();
    const left = new StatsCollector();
    const right = new StatsCollector();
    for (let i = 0; i < 400; i++) {
      // Only the right-hand collector ever sees azure, so one side lacks a target.
      const toLeft = random() < 0.5;
      const targets = toLeft ? ['aws', 'gcp'] : ['aws', 'gcp', 'azure'];
      for (const event of taskEvents(random, targets, 1_000 + i * 7)) {
        event(all);
        event(toLeft ? left : right);
      }
    }

    // Act
    const merged = mergeStats(left.snapshot(), right.snapshot());
    const mergedBackwards = mergeStats(right.snapshot(), left.snapshot());

    // Assess
    const expected = all.snapshot();
    expect(Object.keys(expected.targets).sort()).toEqual(['aws', 'azure', 'gcp']);
    expect(expected.states.retrying).toBe(0);
    expect(merged).toEqual(expected);
    expect(mergedBackwards).toEqual(expected);
  });

  it('with empty stats on either side gives back the other side', () => {
    // Prepare
    const collector = new StatsCollector();
    for (const event of taskEvents(seededRandom(22), ['aws'], 5_000)) event(collector);
    const stats = collector.snapshot();

    // Act
    const results = [mergeStats(stats, emptyStats()), mergeStats(emptyStats(), stats)];

    // Assess
    expect(results).toEqual([stats, stats]);
  });
});

describe('summarize', () => {
  /** Four 1 MB tasks: two done on aws (one after a retry from gcp), one on gcp, one failed for good. */
  const scenario = (): StatsCollector => {
    const c = new StatsCollector();
    for (let i = 0; i < 4; i++) c.taskCreated(1_000_000);
    const done = { outcome: 'completed', bytesIn: 1_000_000, bytesOut: 250_000 } as const;
    c.attemptStarted('gcp', 1, undefined, 1_000);
    c.attemptEnded({ ...done, target: 'gcp', attempt: 1, startedAt: 1_000, endedAt: 1_010, durationMs: 10 });
    c.attemptStarted('aws', 1, undefined, 1_100);
    c.attemptEnded({ ...done, target: 'aws', attempt: 1, startedAt: 1_100, endedAt: 1_500, durationMs: 20 });
    c.attemptStarted('gcp', 1, undefined, 1_200);
    c.attemptEnded({
      target: 'gcp',
      attempt: 1,
      outcome: 'retrying',
      startedAt: 1_200,
      endedAt: 1_300,
      durationMs: 30,
      bytesIn: 1_000_000,
      retryable: true,
    });
    c.attemptStarted('aws', 2, 'gcp', 1_400);
    c.attemptEnded({ ...done, target: 'aws', attempt: 2, startedAt: 1_400, endedAt: 2_000, durationMs: 40 });
    c.attemptStarted('gcp', 1, undefined, 2_500);
    c.attemptEnded({
      target: 'gcp',
      attempt: 1,
      outcome: 'failed',
      startedAt: 2_500,
      endedAt: 3_000,
      durationMs: 50,
      bytesIn: 1_000_000,
      retryable: false,
    });
    c.duplicateDropped();
    return c;
  };

  it('works out the success rate, counts, bytes and compression ratio', () => {
    // Prepare
    const stats = scenario().snapshot();

    // Act
    const report = summarize(stats, LIST_COSTING);

    // Assess
    expect(report).toMatchObject({
      tasks: 4,
      states: { pending: 0, processing: 0, retrying: 0, completed: 3, failed: 1 },
      successRate: 0.75,
      attempts: 5,
      retries: 1,
      redistributed: 1,
      duplicates: 1,
      attemptsHistogram: { 1: 3, 2: 1 },
      bytes: { in: 4_000_000, done: 3_000_000, out: 750_000, compressionRatio: 4 },
    });
    expect(report.durationMs).toMatchObject({ count: 5, avg: 30, min: 10, max: 50 });
    expect(Math.abs(report.durationMs.p50 - 30) / 30).toBeLessThanOrEqual(0.01);
  });

  it('works out the throughput over the window from the first start to the last end', () => {
    // Prepare
    const stats = scenario().snapshot();

    // Act
    const report = summarize(stats, LIST_COSTING);

    // Assess
    expect(stats.firstAt).toBe(1_000);
    expect(stats.lastAt).toBe(3_000);
    expect(report.throughput).toEqual({ elapsedMs: 2_000, chunksPerSecond: 2, megabytesPerSecond: 1.5 });
  });

  it('gives each target its share of the completed tasks and its own counts', () => {
    // Prepare
    const stats = scenario().snapshot();

    // Act
    const { targets } = summarize(stats, LIST_COSTING);

    // Assess
    expect(targets.aws).toMatchObject({
      attempts: 2,
      completed: 2,
      share: 0.667,
      retryableFailures: 0,
      permanentFailures: 0,
      redistributedIn: 1,
      durationMs: { count: 2, avg: 30, min: 20, max: 40 },
    });
    expect(targets.gcp).toMatchObject({
      attempts: 3,
      completed: 1,
      share: 0.333,
      retryableFailures: 1,
      permanentFailures: 1,
      redistributedIn: 0,
      durationMs: { count: 3, avg: 30, min: 10, max: 50 },
    });
  });

  it('adds the live load of each target, including one with no tries yet', () => {
    // Prepare
    const stats = scenario().snapshot();
    const loads: TargetLoad[] = [
      { name: 'aws', inFlight: 3, load: 0.123_456, breaker: 'half_open', breakerOpened: 2, changes: [] },
      { name: 'azure', inFlight: 0, load: 0, breaker: 'closed', breakerOpened: 0, changes: [] },
    ];

    // Act
    const { targets } = summarize(stats, LIST_COSTING, loads);

    // Assess
    expect(targets.aws).toMatchObject({ completed: 2, inFlight: 3, load: 0.123, breaker: 'half_open' });
    expect(targets.azure).toMatchObject({
      attempts: 0,
      completed: 0,
      share: 0,
      inFlight: 0,
      breaker: 'closed',
    });
    expect(targets.gcp).not.toHaveProperty('inFlight');
  });

  it('reports zeros rather than dividing by zero for empty stats', () => {
    // Prepare
    const stats = emptyStats();

    // Act
    const report = summarize(stats, LIST_COSTING);

    // Assess
    expect(report.successRate).toBe(0);
    expect(report.throughput).toEqual({ elapsedMs: 0, chunksPerSecond: 0, megabytesPerSecond: 0 });
    expect(report.bytes.compressionRatio).toBe(0);
    expect(report.targets).toEqual({});
  });
});
