import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDataStore } from '../../src/adapters/sqlite/data-store.ts';
import { DataDirError } from '../../src/adapters/sqlite/errors.ts';
import { WriteQueueClosedError } from '../../src/adapters/sqlite/write-queue.ts';
import type { BreakerSnapshot } from '../../src/core/breaker.ts';
import { TaskState } from '../../src/core/constants.ts';
import { IDEMPOTENCY, type IdempotencyRecord } from '../../src/core/idempotency.ts';
import type { ClaimRequest, TaskRecord } from '../../src/core/task.ts';
import type { IngestCheckpoint, JobRecord, SegmentRecord } from '../../src/ports/task-store.ts';

const T0 = 1_700_000_000_000;
const LEASE_MS = 600_000;

const job = (jobId: string, createdAt = T0): JobRecord => ({
  jobId,
  createdAt,
  options: { pipeline: 'validate | compress', targets: ['aws', 'gcp'] },
});

const pending = (jobId: string, index: number, padding = ''): TaskRecord => ({
  jobId,
  index,
  state: TaskState.pending,
  bytes: 100 + index,
  sha256: `${index}`.padStart(64, '0') + padding,
  attempts: [],
  updatedAt: T0,
});

const claimOf = (jobId: string, index: number, attempt = 1, now = T0): ClaimRequest => ({
  jobId,
  index,
  attempt,
  target: 'aws',
  workerId: 'worker-1',
  claimId: `claim-${index}-${attempt}-${now}`,
  now,
  leaseMs: LEASE_MS,
  bytes: 100 + index,
  sha256: `${index}`.padStart(64, '0'),
});

const segmentOf = (jobId: string, firstIndex: number, size: number): SegmentRecord => ({
  jobId,
  segment: firstIndex / size,
  firstIndex,
  sentAt: T0,
  chunks: Array.from({ length: size }, (_, i) => ({
    sha256: `${firstIndex + i}`.padStart(64, '0'),
    bytes: 100 + i,
    input: `spool/${jobId}#${firstIndex + i}`,
  })),
});

const checkpoint: IngestCheckpoint = {
  source: 'spool/job-a',
  offset: 400,
  chunks: 4,
  segments: 1,
  steps: 1,
  updatedAt: T0,
};

const OPEN_BREAKER: BreakerSnapshot = { state: 'open', failures: 10, openedAt: T0, opened: 1, downSince: T0 };

const idempotencyKey: IdempotencyRecord = {
  key: 'key-1',
  fingerprint: 'body-a',
  owner: 'request-1',
  leaseUntil: T0 + IDEMPOTENCY.leaseMs,
  expiresAt: T0 + IDEMPOTENCY.windowMs,
};

let dir: string;
let file: string;
let opened: SqliteDataStore[];

/** Opens the test's database file; the test's cleanup closes it. */
const open = (): SqliteDataStore => {
  const data = SqliteDataStore.open(file);
  opened.push(data);
  return data;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-data-store-'));
  file = join(dir, 'fanout.db');
  opened = [];
});

afterEach(async () => {
  for (const data of opened) await data.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteDataStore, reopened', () => {
  it('keeps jobs, tasks, segments, checkpoints, notices, health, idempotency keys and meta', async () => {
    // Prepare: a job half-way, with a try of each kind, and every other store written
    const first = open();
    const { tasks } = first;
    await tasks.createJob(job('job-a'));
    await tasks.createJob(job('job-b', T0 + 1));
    await tasks.putTasks([0, 1, 2, 3].map((index) => pending('job-a', index)));
    await tasks.putSegment(segmentOf('job-a', 0, 4));
    await tasks.checkpoint('job-a', 0, checkpoint);
    await tasks.setJobTotal('job-a', 4);
    const claimed = await tasks.claim(claimOf('job-a', 0));
    const claimId = claimed.claimed ? (claimed.task.attempts[0]?.claimId as string) : '';
    await tasks.finish({
      jobId: 'job-a',
      index: 0,
      attempt: 1,
      claimId,
      outcome: 'completed',
      now: T0 + 5,
      result: 'r0',
    });
    await tasks.claim(claimOf('job-a', 1));
    await tasks.claimEndNotice('job-b', T0 + 2);
    await tasks.retireJob('job-b');
    await first.health.update('aws', () => OPEN_BREAKER);
    await first.idempotency.claim(idempotencyKey, T0);
    await first.idempotency.complete('key-1', 'request-1', 'job-a');
    await first.writeMeta('expiredStats', { jobs: 3, chunks: 12 });
    const before = {
      job: await tasks.getJob('job-a'),
      tasks: await tasks.listTasks('job-a'),
      segments: await tasks.listSegments('job-a'),
    };
    await first.close();

    // Act
    const second = open();

    // Assess
    expect(await second.tasks.getJob('job-a')).toEqual(before.job);
    expect(before.job?.ingest).toEqual(checkpoint);
    expect(await second.tasks.listTasks('job-a')).toEqual(before.tasks);
    expect((await second.tasks.listTasks('job-a')).map((task) => task.state)).toEqual([
      'completed',
      'processing',
      'pending',
      'pending',
    ]);
    expect(await second.tasks.listSegments('job-a')).toEqual(before.segments);
    expect((await second.tasks.listActiveJobs()).map((active) => active.jobId)).toEqual(['job-a']);
    expect((await second.tasks.listJobs({ limit: 10 })).map((listed) => listed.jobId)).toEqual([
      'job-b',
      'job-a',
    ]);
    expect(await second.tasks.claimEndNotice('job-b', T0 + 3)).toBe(false);
    expect(await second.tasks.claimEndNotice('job-a', T0 + 3)).toBe(true);
    expect(await second.health.read()).toEqual(new Map([['aws', OPEN_BREAKER]]));
    const repeat = await second.idempotency.claim({ ...idempotencyKey, owner: 'request-2' }, T0 + 1000);
    expect(repeat).toMatchObject({ owner: 'request-1', jobId: 'job-a' });
    expect(second.readMeta('expiredStats')).toEqual({ jobs: 3, chunks: 12 });
    expect(second.readMeta('never-written')).toBeUndefined();
  });

  it('keeps the writes that were still waiting for their group when it was closed', async () => {
    // Prepare
    const first = open();
    await first.tasks.createJob(job('job-a'));

    // Act: not awaited before the close
    const put = first.tasks.putTasks([pending('job-a', 0)]);
    const meta = first.writeMeta('k', 'v');
    await first.close();
    await Promise.all([put, meta]);
    const second = open();

    // Assess
    expect(await second.tasks.getTask('job-a', 0)).toEqual(pending('job-a', 0));
    expect(second.readMeta('k')).toBe('v');
  });

  it('refuses writes once closed', async () => {
    // Prepare
    const data = open();
    await data.close();

    // Act
    const write = data.writeMeta('k', 'v');

    // Assess
    await expect(write).rejects.toBeInstanceOf(WriteQueueClosedError);
  });
});

describe('SqliteDataStore.releaseLeases', () => {
  it('ends the lease of every processing task, so that its try is taken over at once', async () => {
    // Prepare: a process claimed two tries and died; the lease would hold ten minutes more
    const first = open();
    await first.tasks.createJob(job('job-a'));
    await first.tasks.putTasks([0, 1, 2].map((index) => pending('job-a', index)));
    await first.tasks.claim(claimOf('job-a', 0));
    await first.tasks.claim(claimOf('job-a', 1));
    await first.close();
    const second = open();
    const now = T0 + 1000;

    // Act
    const released = await second.releaseLeases(now);

    // Assess
    expect(released).toBe(2);
    const [held, other, waiting] = await second.tasks.listTasks('job-a');
    expect(held).toMatchObject({ state: 'processing', leaseExpiresAt: now });
    expect(other).toMatchObject({ state: 'processing', leaseExpiresAt: now });
    expect(waiting).toEqual(pending('job-a', 2));
    const takeover = await second.tasks.claim({ ...claimOf('job-a', 0, 1, now), claimId: 'resumed' });
    expect(takeover.claimed).toBe(true);
    expect(await second.releaseLeases(now)).toBe(2);
  });

  it('releases nothing in a database with no try running', async () => {
    // Act
    const released = await open().releaseLeases(T0);

    // Assess
    expect(released).toBe(0);
  });
});

describe('SqliteDataStore, grouped writes', () => {
  it('commits many concurrent writes to every store in a few transactions', async () => {
    // Prepare
    const data = open();
    await data.tasks.createJob(job('job-a'));
    await data.tasks.putTasks(Array.from({ length: 500 }, (_, index) => pending('job-a', index)));
    const before = data.transactions;

    // Act: as an engine does, a batch of claims, a breaker change and a meta value at once
    const claims = await Promise.all(
      Array.from({ length: 500 }, (_, index) => data.tasks.claim(claimOf('job-a', index))),
    );
    await Promise.all([data.health.update('gcp', () => OPEN_BREAKER), data.writeMeta('k', 1)]);

    // Assess
    expect(claims.every((claim) => claim.claimed)).toBe(true);
    expect(data.transactions - before).toBe(2);
    expect(await data.tasks.listTasks('job-a', TaskState.processing)).toHaveLength(500);
  });

  it('fails only the write that failed in a group, and commits the others', async () => {
    // Prepare
    const data = open();
    await data.tasks.createJob(job('job-a'));
    const before = data.transactions;

    // Act
    const settled = await Promise.allSettled([
      data.tasks.putTasks([pending('job-a', 0)]),
      data.tasks.putTasks([pending('job-a', 1), pending('no-such-job', 0)]),
      data.tasks.putSegment(segmentOf('no-such-job', 0, 2)),
      data.tasks.putTasks([pending('job-a', 2)]),
    ]);

    // Assess
    expect(settled.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect((await data.tasks.listTasks('job-a')).map((task) => task.index)).toEqual([0, 2]);
    expect(data.transactions - before).toBe(1);
  });
});

describe('SqliteDataStore.open', () => {
  it('throws a DataDirError for a file it cannot use', async () => {
    // Prepare
    await writeFile(file, 'a text file, not a database'.repeat(200));

    // Act
    const opening = () => SqliteDataStore.open(file);

    // Assess
    expect(opening).toThrow(DataDirError);
    expect(opening).toThrow(file);
  });
});

describe('SqliteDataStore.tasks.deleteJob', () => {
  const PADDING = 'p'.repeat(400);
  const TASKS = 2000;

  /** A job of 2,000 tasks with long records and their segments, each try claimed. */
  const runJob = async (data: SqliteDataStore, jobId: string): Promise<void> => {
    await data.tasks.createJob(job(jobId));
    await data.tasks.putTasks(Array.from({ length: TASKS }, (_, index) => pending(jobId, index, PADDING)));
    for (let first = 0; first < TASKS; first += 500)
      await data.tasks.putSegment(segmentOf(jobId, first, 500));
    await Promise.all(Array.from({ length: TASKS }, (_, index) => data.tasks.claim(claimOf(jobId, index))));
  };

  const sizeOf = async (path: string): Promise<number> => (await stat(path).catch(() => ({ size: 0 }))).size;

  it('keeps the file bounded as jobs are made and deleted over and over', async () => {
    // Prepare
    const data = open();
    const sizes: number[] = [];

    // Act: the job is made and expired twenty times over
    for (let round = 0; round < 20; round++) {
      await runJob(data, `job-${round}`);
      await data.tasks.deleteJob(`job-${round}`);
      sizes.push((await sizeOf(file)) + (await sizeOf(`${file}-wal`)));
    }

    // Assess: once the first rounds have sized the WAL, the files grow no more
    expect(Math.max(...sizes.slice(2))).toBeLessThanOrEqual((sizes[2] as number) * 1.25);
    expect(await data.tasks.listJobs({ limit: 100 })).toEqual([]);
  });

  it('shrinks the file when a job is deleted, rather than keeping its pages free for later', async () => {
    // Prepare: the file's size with one big job in it, checkpointed by the close
    const first = open();
    await runJob(first, 'job-a');
    await first.close();
    const withJob = await sizeOf(file);
    const second = open();

    // Act
    await second.tasks.deleteJob('job-a');
    await second.close();

    // Assess
    expect(await sizeOf(file)).toBeLessThan(withJob / 10);
  });
});
