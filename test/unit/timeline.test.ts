import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attempt, TaskRecord } from '../../src/core/task.ts';
import { jobTimeline, MAX_TIMELINE_BUCKETS } from '../../src/core/timeline.ts';

const task = (index: number, attempts: Partial<Attempt>[]): TaskRecord => ({
  jobId: 'j',
  index,
  state: 'completed',
  bytes: 1,
  sha256: '',
  updatedAt: 0,
  attempts: attempts.map((a, i) => ({
    attempt: i + 1,
    target: 'aws',
    workerId: 'w',
    claimId: 'c',
    startedAt: 0,
    ...a,
  })),
});

describe('jobTimeline', () => {
  it('counts tries by the second they ended, from the first start to the last end', () => {
    // Prepare
    const tasks = [
      task(0, [
        { startedAt: 10_200, endedAt: 10_900, outcome: 'retrying' },
        { startedAt: 11_000, endedAt: 12_500, outcome: 'completed' },
      ]),
      task(1, [{ startedAt: 10_500, endedAt: 12_999, outcome: 'failed' }]),
    ];

    // Act
    const timeline = jobTimeline('j', tasks, 99_000);

    // Assess
    expect(timeline).toEqual({
      jobId: 'j',
      bucketMs: 1000,
      buckets: [
        { at: '1970-01-01T00:00:10.000Z', tries: 1, completed: 0, failed: 1 },
        { at: '1970-01-01T00:00:11.000Z', tries: 0, completed: 0, failed: 0 },
        { at: '1970-01-01T00:00:12.000Z', tries: 2, completed: 1, failed: 1 },
      ],
    });
  });

  it('runs to now while a try runs, and widens its buckets to keep to the most', () => {
    // Prepare
    const tasks = [task(0, [{ startedAt: 0, endedAt: 1_000, outcome: 'completed' }, { startedAt: 1_000 }])];

    // Act
    const timeline = jobTimeline('j', tasks, 200_000);

    // Assess
    expect(timeline.bucketMs).toBe(2000);
    expect(timeline.buckets).toHaveLength(101);
    expect(timeline.buckets[0]).toMatchObject({ tries: 1, completed: 1 });
  });

  it('has no buckets for a job with no tries', () => {
    // Act
    const timeline = jobTimeline('j', [task(0, [])], 5_000);

    // Assess
    expect(timeline).toEqual({ jobId: 'j', bucketMs: 1000, buckets: [] });
  });

  it('puts every ended try in one bucket, in at most 120 whole-second buckets', () => {
    const attempt = fc.record({
      startedAt: fc.integer({ min: 0, max: 1e10 }),
      lastedMs: fc.option(fc.integer({ min: 0, max: 1e9 }), { nil: undefined }),
      outcome: fc.constantFrom('completed', 'retrying', 'failed'),
    });
    fc.assert(
      fc.property(fc.array(fc.array(attempt, { maxLength: 4 }), { maxLength: 20 }), (chunks) => {
        // Prepare
        const tasks = chunks.map((tries, index) =>
          task(
            index,
            tries.map(({ startedAt, lastedMs, outcome }) => ({
              startedAt,
              ...(lastedMs !== undefined && { endedAt: startedAt + lastedMs, outcome }),
            })),
          ),
        );
        const ended = chunks.flat().filter((a) => a.lastedMs !== undefined);

        // Act
        const { bucketMs, buckets } = jobTimeline('j', tasks, 2e10);

        // Assess
        const sum = (key: 'tries' | 'completed' | 'failed') => buckets.reduce((n, b) => n + b[key], 0);
        expect(sum('tries')).toBe(ended.length);
        expect(sum('completed') + sum('failed')).toBe(ended.length);
        expect(buckets.length).toBeLessThanOrEqual(MAX_TIMELINE_BUCKETS);
        expect(bucketMs % 1000).toBe(0);
        expect(
          buckets.every((b, i) => Date.parse(b.at) === Date.parse(buckets[0]?.at ?? '') + i * bucketMs),
        ).toBe(true);
      }),
    );
  });
});
