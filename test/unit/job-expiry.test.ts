import { describe, expect, it } from 'vitest';
import { MemoryIdempotencyStore } from '../../src/adapters/local/memory-idempotency-store.ts';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { IDEMPOTENCY } from '../../src/core/idempotency.ts';
import { StatsCollector } from '../../src/core/stats/stats.ts';
import { JobExpiry } from '../../src/engine/expiry.ts';
import type { JobRun } from '../../src/engine/job-run.ts';

const T0 = 1_700_000_000_000;
const TTL_MS = 60_000;

/** An engine's parts with `count` jobs, each with one task, one stored output and the key that made it. */
const engineWith = async (count: number) => {
  let now = T0;
  const jobs = new Map<string, JobRun>();
  const tasks = new MemoryTaskStore();
  const results = new MemoryResultStore();
  const idempotency = new MemoryIdempotencyStore();
  for (let i = 0; i < count; i++) {
    const jobId = `job-${i}`;
    const stats = new StatsCollector();
    stats.taskCreated(100);
    jobs.set(jobId, { jobId, stats, isFinished: true } as unknown as JobRun);
    await tasks.createJob({ jobId, createdAt: T0, options: {} });
    await tasks.putTasks([
      { jobId, index: 0, state: 'pending', bytes: 100, sha256: '0'.repeat(64), attempts: [], updatedAt: T0 },
    ]);
    await results.put(jobId, [new Uint8Array([i])]);
    const owner = `owner-${i}`;
    await idempotency.claim(
      {
        key: `key-${i}`,
        fingerprint: 'f',
        owner,
        leaseUntil: T0 + IDEMPOTENCY.leaseMs,
        expiresAt: T0 + IDEMPOTENCY.windowMs,
      },
      T0,
    );
    await idempotency.complete(`key-${i}`, owner, jobId);
  }
  const expiry = new JobExpiry({ ttlMs: TTL_MS, jobs, tasks, results, idempotency, now: () => now });
  const advance = (ms: number) => {
    now += ms;
  };
  return { jobs, tasks, results, idempotency, expiry, advance };
};

describe('JobExpiry', () => {
  it('forgets a job, its tasks, its result and its key once its TTL after its end has passed', async () => {
    // Prepare
    const { jobs, tasks, results, idempotency, expiry, advance } = await engineWith(2);
    expiry.ended('job-0');
    advance(10_000);
    expiry.ended('job-1');

    // Act
    advance(TTL_MS - 10_000);
    await expiry.sweep();
    expiry.stop();

    // Assess
    expect([...jobs.keys()]).toEqual(['job-1']);
    expect(await tasks.getJob('job-0')).toBeUndefined();
    expect(await tasks.listTasks('job-0')).toEqual([]);
    expect(await tasks.listTasks('job-1')).toHaveLength(1);
    await expect(results.read('job-0', ['0'])[Symbol.asyncIterator]().next()).rejects.toThrow();
    const repeat = { key: 'key-0', fingerprint: 'f', owner: 'late', leaseUntil: T0 * 2, expiresAt: T0 * 2 };
    expect((await idempotency.claim(repeat, T0 + TTL_MS)).owner).toBe('late');
    expect(expiry.waiting).toBe(1);
  });

  it('keeps counting what expired jobs counted', async () => {
    // Prepare
    const { expiry, advance } = await engineWith(3);
    for (const jobId of ['job-0', 'job-1', 'job-2']) expiry.ended(jobId);

    // Act
    advance(TTL_MS);
    await expiry.sweep();

    // Assess
    expect(expiry.expiredStats.tasks).toBe(3);
    expect(expiry.expiredStats.bytesIn).toBe(300);
    expect(expiry.waiting).toBe(0);
  });

  it('goes on past a job it could not forget, says which, keeps it, and forgets it on a later sweep', async () => {
    // Prepare
    const { jobs, tasks, results, idempotency } = await engineWith(2);
    let now = T0;
    const errors: string[] = [];
    let down = true;
    const failing = Object.assign(Object.create(tasks), {
      deleteJob: async (jobId: string) => {
        if (jobId === 'job-0' && down) throw new Error('store down');
        return tasks.deleteJob(jobId);
      },
    });
    const expiry = new JobExpiry({
      ttlMs: TTL_MS,
      jobs,
      tasks: failing,
      results,
      idempotency,
      now: () => now,
      onError: (jobId, error) => errors.push(`${jobId}: ${(error as Error).message}`),
    });
    expiry.ended('job-0');
    expiry.ended('job-1');

    // Act
    now += TTL_MS;
    await expiry.sweep();
    const kept = [...jobs.keys()];
    down = false;
    now += 1000;
    await expiry.sweep();

    // Assess
    expect(errors).toEqual(['job-0: store down']);
    expect(kept).toEqual(['job-0']);
    expect(jobs.size).toBe(0);
    expect(await tasks.getJob('job-0')).toBeUndefined();
    expect(await tasks.getJob('job-1')).toBeUndefined();
  });
});

describe('JobExpiry and a re-run', () => {
  it('keeps a job re-run before its TTL was up until its TTL after its later end', async () => {
    // Prepare
    const { jobs, expiry, advance } = await engineWith(1);
    expiry.ended('job-0');
    advance(TTL_MS / 2);
    const job = jobs.get('job-0') as { isFinished: boolean };
    job.isFinished = false;

    // Act
    advance(TTL_MS / 2);
    await expiry.sweep();
    const keptWhileRunning = jobs.has('job-0');
    job.isFinished = true;
    expiry.ended('job-0');
    advance(TTL_MS - 1);
    await expiry.sweep();
    const keptAfterItsEnd = jobs.has('job-0');
    advance(1);
    await expiry.sweep();

    // Assess
    expect(keptWhileRunning).toBe(true);
    expect(keptAfterItsEnd).toBe(true);
    expect(jobs.has('job-0')).toBe(false);
  });
});
