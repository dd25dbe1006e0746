import { describe, expect, it } from 'vitest';
import { readOne } from '../../src/adapters/result-reading.ts';
import type { CloudJobs } from '../../src/cloud/cloud-jobs.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { sha256Hex } from '../../src/core/chunker.ts';
import { ChunkingMode, JobStatus, Strategy, TaskState } from '../../src/core/constants.ts';
import { UsageError } from '../../src/core/errors.ts';
import type { JobRequest } from '../../src/core/job.ts';
import type { JobListCursor } from '../../src/core/job-operations.ts';
import { chaosRoll } from '../../src/core/pipeline/steps/chaos.ts';
import {
  type CloudRig,
  cloudJobs,
  cloudRig,
  collect,
  deliver,
  drain,
  encode,
  jobRequest,
  MemoryStats,
  runIngestSteps,
  runQueues,
  stageJob,
} from '../support/cloud.ts';

/** A rig whose ingest packs `segmentBytes` into a segment, and its jobs. */
const rigged = (segmentBytes?: number, stats = new MemoryStats()) => {
  const rig = cloudRig(segmentBytes === undefined ? {} : { segmentBytes });
  return { rig, jobs: cloudJobs(rig, stats) };
};

/** Submits a job and runs its ingest steps to the end. */
const ingest = async (
  rig: CloudRig,
  jobs: CloudJobs,
  input: AsyncIterable<Uint8Array>,
  request: JobRequest,
): Promise<string> => {
  const { jobId } = await jobs.submit(input, request);
  await runIngestSteps(rig);
  return jobId;
};

/** Yields `data` in pieces of `size` bytes, as a request body arrives. */
async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, at + size);
}

/** `count` chunks of 1 KiB, chunk i filled with the letter A + i. */
const kibChunks = (count: number): Uint8Array[] =>
  Array.from({ length: count }, (_, i) => new Uint8Array(1024).fill(65 + i));

/** Lines of exactly 1 KiB: with `lines` chunks of 1 KiB, each line is one chunk. */
const kibLines = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${`line ${String(i).padStart(3, '0')} `.padEnd(1023, 'x')}\n`);

const bytesRequest = (overrides = {}) =>
  jobRequest('', { chunking: { mode: ChunkingMode.bytes, size: 1024 }, ...overrides });

const allSent = async (rig: CloudRig): Promise<ChunkMessage[]> =>
  [...(await drain(rig.queues.aws)), ...(await drain(rig.queues.gcp))].toSorted((a, b) => a.index - b.index);

describe('CloudJobs.submit', () => {
  it('answers once the body is stored, with the job ingesting from its first checkpoint', async () => {
    // Prepare
    const { rig, jobs } = rigged();

    // Act
    const { jobId } = await jobs.submit(pieces(Buffer.concat(kibChunks(3)), 700), bytesRequest());

    // Assess
    const record = await rig.tasks.getJob(jobId);
    expect(record?.ingest).toMatchObject({ offset: 0, chunks: 0, segments: 0, steps: 0 });
    expect(record?.chunksTotal).toBeUndefined();
    expect(rig.bodies.bodies).toBe(1);
    expect(await allSent(rig)).toEqual([]);
    expect(await jobs.getJob(jobId)).toMatchObject({
      status: JobStatus.ingesting,
      chunksTotal: null,
      ingest: { chunksEnqueued: 0, bytesRead: 0 },
    });
  });

  it('packs the chunks into segments, sends try 1 of each chunk with its ref, and sets the total', async () => {
    // Prepare
    const { rig, jobs } = rigged(3000);
    const chunks = kibChunks(10);
    const input = Buffer.concat(chunks);
    const before = Date.now();

    // Act
    const jobId = await ingest(
      rig,
      jobs,
      pieces(input, 700),
      bytesRequest({ strategy: Strategy.roundRobin }),
    );

    // Assess
    // 3 chunks of 1 KiB reach 3000 bytes: segments of 3, 3, 3 and the last 1.
    expect(rig.inputs.puts).toEqual([
      { jobId, count: 3 },
      { jobId, count: 3 },
      { jobId, count: 3 },
      { jobId, count: 1 },
    ]);
    const sent = await allSent(rig);
    expect(sent.map((m) => m.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const message of sent) {
      const chunk = chunks[message.index] as Uint8Array;
      expect(message).toMatchObject({ jobId, attempt: 1, bytes: 1024, sha256: sha256Hex(chunk) });
      expect(message.previousTarget).toBeUndefined();
      expect(message.routedAt).toBeGreaterThanOrEqual(before);
      expect(Buffer.from(await readOne(rig.inputs, jobId, message.input))).toEqual(Buffer.from(chunk));
    }
    const record = await rig.tasks.getJob(jobId);
    expect(record?.chunksTotal).toBe(10);
    expect(record?.ingest).toMatchObject({ offset: 10 * 1024, chunks: 10, segments: 4, steps: 5 });
    expect(rig.bodies.bodies).toBe(0);
    expect(await jobs.listTasks(jobId)).toEqual([]);
  });

  it('records each segment, with the refs its messages carry, before the job is done', async () => {
    // Prepare
    const { rig, jobs } = rigged(2048);

    // Act
    const jobId = await ingest(rig, jobs, pieces(Buffer.concat(kibChunks(5)), 1024), bytesRequest());

    // Assess
    const segments = await rig.tasks.listSegments(jobId);
    expect(segments.map((s) => [s.segment, s.firstIndex, s.chunks.length])).toEqual([
      [0, 0, 2],
      [1, 2, 2],
      [2, 4, 1],
    ]);
    const sent = await allSent(rig);
    expect(segments.flatMap((s) => s.chunks.map((c) => c.input))).toEqual(sent.map((m) => m.input));
  });

  it('spreads the messages over the targets by the job strategy', async () => {
    // Prepare
    const { rig, jobs } = rigged();

    // Act
    await ingest(
      rig,
      jobs,
      pieces(Buffer.concat(kibChunks(6)), 4096),
      bytesRequest({ strategy: Strategy.roundRobin }),
    );

    // Assess
    expect((await drain(rig.queues.aws)).map((m) => m.index)).toEqual([0, 2, 4]);
    expect((await drain(rig.queues.gcp)).map((m) => m.index)).toEqual([1, 3, 5]);
  });

  it('sends only to the targets the job names', async () => {
    // Prepare
    const { rig, jobs } = rigged();

    // Act
    await ingest(
      rig,
      jobs,
      pieces(Buffer.concat(kibChunks(4)), 4096),
      bytesRequest({ strategy: Strategy.roundRobin, targets: ['gcp'] }),
    );

    // Assess
    expect(await drain(rig.queues.aws)).toEqual([]);
    expect((await drain(rig.queues.gcp)).map((m) => m.index)).toEqual([0, 1, 2, 3]);
  });

  it('stores a small input as one segment by default (8 MiB)', async () => {
    // Prepare
    const { rig, jobs } = rigged();

    // Act
    const jobId = await ingest(rig, jobs, pieces(Buffer.concat(kibChunks(10)), 1000), bytesRequest());

    // Assess
    expect(rig.inputs.puts).toEqual([{ jobId, count: 10 }]);
  });

  it('records an empty input as a job of 0 chunks, with no segment and no message', async () => {
    // Prepare
    const { rig, jobs } = rigged();

    // Act
    const jobId = await ingest(rig, jobs, pieces(new Uint8Array(0), 1), bytesRequest());

    // Assess
    expect(rig.inputs.puts).toEqual([]);
    expect(await allSent(rig)).toEqual([]);
    expect((await rig.tasks.getJob(jobId))?.chunksTotal).toBe(0);
  });

  it('marks the job failed when its first ingest step cannot be sent', async () => {
    // Prepare
    const { rig, jobs } = rigged();
    rig.steps.send = () => Promise.reject(new Error('queue gone'));

    // Act
    const submitted = jobs.submit(pieces(encode('alpha\n'), 64), bytesRequest());

    // Assess
    await expect(submitted).rejects.toThrow(/queue gone/);
    const [job] = await rig.tasks.listActiveJobs();
    expect(job?.failed?.reason).toBe('its ingest could not start: queue gone');
  });
});

describe('CloudJobs.submitSource', () => {
  it('records a job on a source that holds something, and refuses an empty one', async () => {
    // Prepare
    const { rig, jobs } = rigged();
    const { source } = await rig.bodies.storeBody('upload', pieces(encode('alpha\n'), 64));
    const { source: empty } = await rig.bodies.storeBody('empty', pieces(new Uint8Array(0), 1));

    // Act
    const { jobId } = await jobs.submitSource(source, jobRequest(''));
    const refused = jobs.submitSource(empty, jobRequest(''));

    // Assess
    expect((await rig.tasks.getJob(jobId))?.ingest?.source).toBe(source);
    await expect(refused).rejects.toThrow(/is empty/);
    await expect(jobs.submitSource('memory://none/body', jobRequest(''))).rejects.toThrow(/does not exist/);
  });
});

describe('CloudJobs.prepare', () => {
  it('rejects a target the router does not serve, naming it', () => {
    // Prepare
    const jobs = cloudJobs(cloudRig());

    // Act
    const act = () => jobs.prepare(jobRequest('transform:uppercase', { targets: ['aws', 'azure'] }));

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(/azure/);
  });

  it('rejects an unknown step, naming it', () => {
    // Prepare
    const jobs = cloudJobs(cloudRig());

    // Act
    const act = () => jobs.prepare(jobRequest('transform:uppercase,frobnicate'));

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(/frobnicate/);
  });

  it('makes submit reject before it stores or sends anything', async () => {
    // Prepare
    const rig = cloudRig();
    const jobs = cloudJobs(rig);

    // Act
    const submitted = jobs.submit(pieces(encode('alpha\n'), 64), jobRequest('', { targets: ['azure'] }));

    // Assess
    await expect(submitted).rejects.toThrow(UsageError);
    expect(rig.inputs.puts).toEqual([]);
    expect(await allSent(rig)).toEqual([]);
  });

  it('accepts a valid request and returns its resolved steps', () => {
    // Prepare
    const jobs = cloudJobs(cloudRig());

    // Act
    const steps = jobs.prepare(jobRequest('transform:uppercase,compress:gzip'));

    // Assess
    expect(steps.map((s) => s.spec.name)).toEqual(['transform', 'compress']);
  });
});

describe('CloudJobs.getJob', () => {
  const now = 1_700_000_000_000;
  type Fate = 'started' | 'completed' | 'failed' | 'retrying';

  /** Feeds the stats as the stream of the task table would: a task per fate, created by its first claim. */
  const feed = (stats: MemoryStats, jobId: string, fates: readonly Fate[]): void => {
    const collector = stats.collector(jobId);
    for (const [i, fate] of fates.entries()) {
      collector.taskCreated(6);
      collector.attemptStarted('aws', 1, undefined, now + i);
      if (fate === 'started') continue;
      collector.attemptEnded({
        target: 'aws',
        attempt: 1,
        outcome: fate,
        startedAt: now + i,
        endedAt: now + 10 + i,
        durationMs: 10,
        bytesIn: 6,
        bytesOut: 6,
        ...(fate !== 'completed' && { retryable: fate === 'retrying' }),
      });
    }
  };

  const setup = async (total = 3) => {
    const rig = cloudRig();
    const stats = new MemoryStats();
    const jobs = cloudJobs(rig, stats);
    await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), Array(total).fill('alpha\n'));
    return { rig, stats, jobs };
  };

  it('is queued, with every chunk pending, before any try has started', async () => {
    // Prepare
    const { jobs } = await setup();

    // Act
    const view = await jobs.getJob('job-a');

    // Assess
    expect(view).toMatchObject({
      status: JobStatus.queued,
      chunksTotal: 3,
      chunksCompleted: 0,
      percentComplete: 0,
    });
    expect(view?.stats.tasks).toBe(3);
    expect(view?.stats.states).toEqual({
      pending: 3,
      processing: 0,
      retrying: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
  });

  it('is processing once a try has started, the unclaimed chunks pending', async () => {
    // Prepare
    const { jobs, stats } = await setup();
    feed(stats, 'job-a', ['started']);

    // Act
    const view = await jobs.getJob('job-a');

    // Assess
    expect(view?.status).toBe(JobStatus.processing);
    expect(view?.stats.states).toEqual({
      pending: 2,
      processing: 1,
      retrying: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    expect(view?.stats.tasks).toBe(3);
  });

  it('is processing while a chunk waits for its retry, with the share of the ended chunks as its progress', async () => {
    // Prepare
    const { jobs, stats } = await setup();
    feed(stats, 'job-a', ['completed', 'retrying']);

    // Act
    const view = await jobs.getJob('job-a');

    // Assess
    expect(view).toMatchObject({ status: JobStatus.processing, chunksCompleted: 1, percentComplete: 33.3 });
    expect(view?.stats.states).toEqual({
      pending: 1,
      processing: 0,
      retrying: 1,
      completed: 1,
      failed: 0,
      cancelled: 0,
    });
    expect(view?.updatedAt).toBe(new Date(now + 11).toISOString());
  });

  it('is completed when every chunk completed', async () => {
    // Prepare
    const { jobs, stats } = await setup();
    feed(stats, 'job-a', ['completed', 'completed', 'completed']);

    // Act
    const view = await jobs.getJob('job-a');

    // Assess
    expect(view).toMatchObject({
      status: JobStatus.completed,
      chunksTotal: 3,
      chunksCompleted: 3,
      chunksFailed: 0,
      percentComplete: 100,
    });
    expect(view?.stats.states.pending).toBe(0);
  });

  it('is completed_with_failures when every chunk ended and one failed', async () => {
    // Prepare
    const { jobs, stats } = await setup();
    feed(stats, 'job-a', ['completed', 'failed', 'completed']);

    // Act
    const view = await jobs.getJob('job-a');

    // Assess
    expect(view).toMatchObject({
      status: JobStatus.completedWithFailures,
      chunksCompleted: 2,
      chunksFailed: 1,
      percentComplete: 100,
    });
  });

  it('is ingesting while the total is unknown, however many chunks ended, with its progress', async () => {
    // Prepare
    const rig = cloudRig();
    const stats = new MemoryStats();
    const jobs = cloudJobs(rig, stats);
    await rig.tasks.createJob({
      jobId: 'job-a',
      createdAt: now,
      options: { ...jobRequest('') },
      ingest: { source: 's3://b/k', offset: 4096, chunks: 4, segments: 1, steps: 1, updatedAt: now + 50 },
    });
    feed(stats, 'job-a', ['completed', 'completed']);

    // Act
    const view = await jobs.getJob('job-a');

    // Assess
    expect(view).toMatchObject({
      status: JobStatus.ingesting,
      chunksTotal: null,
      chunksCompleted: 2,
      ingest: { chunksEnqueued: 4, bytesRead: 4096 },
      updatedAt: new Date(now + 50).toISOString(),
    });
    expect(view?.stats.states.pending).toBe(0);
  });

  it('is undefined for a job the store does not know', async () => {
    // Prepare
    const { jobs } = await setup();

    // Act
    const view = await jobs.getJob('job-gone');

    // Assess
    expect(view).toBeUndefined();
    expect(await jobs.listTasks('job-gone')).toBeUndefined();
  });
});

describe('CloudJobs end to end over the in-memory queues', () => {
  it('reads the completed outputs in chunk order, though retries moved half the chunks to the other target', async () => {
    // Prepare: every try on aws fails (an outage), so the chunks sent there complete on gcp, later.
    const rig = cloudRig();
    const stats = new MemoryStats();
    const jobs = cloudJobs(rig, stats);
    const lines = kibLines(12);
    const request = jobRequest('chaos:target=aws,transform:uppercase', { strategy: Strategy.roundRobin });
    const jobId = await ingest(rig, jobs, pieces(encode(lines.join('')), 5000), request);

    // Act
    const outcomes = await runQueues(rig, ['gcp', 'aws']);
    const result = await collect(jobs.readResult(jobId));

    // Assess
    expect(result).toBe(lines.join('').toUpperCase());
    expect(outcomes.filter((o) => o === 'retrying')).toHaveLength(6);
    expect(outcomes.filter((o) => o === 'completed')).toHaveLength(12);
    expect(outcomes.filter((o) => o !== 'retrying' && o !== 'completed')).toEqual([]);
    const tasks = (await jobs.listTasks(jobId)) ?? [];
    expect(tasks.map((t) => t.attempts.at(-1)?.target)).toEqual(Array(12).fill('gcp'));
    // The memory store's refs are positions: the outputs were stored out of chunk order.
    const positions = tasks.map((t) => Number(t.result));
    expect(positions).not.toEqual(positions.toSorted((a, b) => a - b));
    expect(await drain(rig.deadLetters.aws)).toEqual([]);
    expect(await drain(rig.deadLetters.gcp)).toEqual([]);
    for (const task of tasks) stats.record(task);
    expect(await jobs.getJob(jobId)).toMatchObject({ status: JobStatus.completed, chunksCompleted: 12 });
    expect((await jobs.getJob(jobId))?.stats).toMatchObject({ retries: 6, redistributed: 6 });
  });

  it('leaves the failed chunks out of the result and reports the job completed_with_failures', async () => {
    // Prepare: chunk i is poisoned when chaosRoll(seed, 'poison', i) < poison, whatever the job.
    const rig = cloudRig({ segmentBytes: 4096 });
    const stats = new MemoryStats();
    const jobs = cloudJobs(rig, stats);
    const lines = kibLines(12);
    const poisoned = lines.map((_, i) => i).filter((i) => chaosRoll(5, 'poison', i) < 0.3);
    const request = jobRequest('chaos:poison=0.3:seed=5,transform:uppercase', {
      strategy: Strategy.roundRobin,
    });
    const jobId = await ingest(rig, jobs, pieces(encode(lines.join('')), 3000), request);

    // Act
    await runQueues(rig);
    const result = await collect(jobs.readResult(jobId));

    // Assess
    expect(poisoned.length).toBeGreaterThan(0);
    expect(poisoned.length).toBeLessThan(12);
    const kept = lines.filter((_, i) => !poisoned.includes(i));
    expect(result).toBe(kept.join('').toUpperCase());
    const dead = [...(await drain(rig.deadLetters.aws)), ...(await drain(rig.deadLetters.gcp))];
    expect(dead.map((m) => m.index).toSorted((a, b) => a - b)).toEqual(poisoned);
    expect((await jobs.listTasks(jobId, TaskState.failed))?.map((t) => t.index)).toEqual(poisoned);
    for (const task of (await jobs.listTasks(jobId)) ?? []) stats.record(task);
    expect(await jobs.getJob(jobId)).toMatchObject({
      status: JobStatus.completedWithFailures,
      chunksFailed: poisoned.length,
      chunksCompleted: 12 - poisoned.length,
    });
  });

  it('redelivers nothing lost: a processed batch whose acknowledgement was lost completes nothing twice', async () => {
    // Prepare
    const rig = cloudRig();
    const jobs = cloudJobs(rig);
    const lines = kibLines(4);
    const jobId = await ingest(
      rig,
      jobs,
      pieces(encode(lines.join('')), 4096),
      jobRequest('transform:uppercase'),
    );
    const sent = await allSent(rig);
    await rig.processors.aws.process(sent.map((m) => deliver(m)));

    // Act
    const again = await rig.processors.aws.process(sent.map((m) => deliver(m, true)));

    // Assess
    expect([...again.values()]).toEqual(Array(4).fill('duplicate'));
    expect(rig.results.puts).toEqual([{ jobId, count: 4 }]);
    expect(await collect(jobs.readResult(jobId))).toBe(lines.join('').toUpperCase());
  });
});

describe('CloudJobs.retry', () => {
  it('puts a retired job back on the active list before it re-runs its failed chunks', async () => {
    // Prepare: every chunk poisoned, so the job ends failed and the reconciler may retire it.
    const rig = cloudRig();
    const stats = new MemoryStats();
    const jobs = cloudJobs(rig, stats);
    const request = jobRequest('chaos:poison=1,transform:uppercase');
    const jobId = await ingest(rig, jobs, pieces(encode(kibLines(3).join('')), 5000), request);
    await runQueues(rig);
    for (const task of (await jobs.listTasks(jobId)) ?? []) stats.record(task);
    await rig.tasks.retireJob(jobId);

    // Act
    const rerun = await jobs.retry(jobId);
    const active = (await rig.tasks.listActiveJobs()).map((job) => job.jobId);

    // Assess
    expect(rerun).toEqual({ chunks: 3 });
    expect(active).toContain(jobId);
  });
});

describe('CloudJobs.listJobs', () => {
  it('pages newest first, and hands out no cursor with the page that holds the last job', async () => {
    // Prepare
    const { jobs } = rigged();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.unshift((await jobs.submit(pieces(Buffer.concat(kibChunks(1)), 1024), bytesRequest())).jobId);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }

    // Act
    const pages: string[][] = [];
    let after: JobListCursor | undefined;
    do {
      const page = await jobs.listJobs({ limit: 1, ...(after && { after }) });
      pages.push(page.jobs.map((job) => job.jobId));
      after = page.next;
    } while (after !== undefined && pages.length < 5);
    const whole = await jobs.listJobs({ limit: 3 });

    // Assess
    expect(pages).toEqual(ids.map((id) => [id]));
    expect(whole.jobs.map((job) => job.jobId)).toEqual(ids);
    expect(whole.next).toBeUndefined();
  });
});

describe('CloudJobs.describe and stats', () => {
  it('describes a job with the compression of its output', async () => {
    // Prepare
    const rig = cloudRig();
    const jobs = cloudJobs(rig);
    const request = jobRequest('transform:uppercase,compress:gzip');
    await stageJob(rig, 'job-a', request, ['alpha\n']);

    // Act
    const described = await jobs.describe('job-a');

    // Assess
    expect(described?.compression).toBe('gzip');
    expect(described?.request.pipeline.map((s) => s.name)).toEqual(['transform', 'compress']);
    expect(await jobs.describe('job-gone')).toBeUndefined();
  });

  it('sums every job the stats reader knows', async () => {
    // Prepare
    const rig = cloudRig();
    const stats = new MemoryStats();
    const jobs = cloudJobs(rig, stats);
    const a = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n', 'beta\n']);
    const b = await stageJob(rig, 'job-b', jobRequest('chaos:poison=1'), ['gamma\n']);
    await rig.processors.aws.process([...a, ...b].map((m) => deliver(m)));
    for (const jobId of ['job-a', 'job-b'])
      for (const task of await rig.tasks.listTasks(jobId)) stats.record(task);

    // Act
    const report = await jobs.stats();

    // Assess
    expect(report.tasks).toBe(3);
    expect(report.states).toMatchObject({ completed: 2, failed: 1 });
    expect(report.targets.aws).toMatchObject({ attempts: 3, completed: 2, permanentFailures: 1 });
  });
});
