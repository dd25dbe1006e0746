import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/chunker.ts';
import { KiB, MiB } from '../../src/core/constants.ts';
import { chaosRoll } from '../../src/core/pipeline/steps/chaos.ts';
import { RetryPolicy } from '../../src/core/retry.ts';
import { ChunkArena } from '../../src/engine/arena.ts';
import { JobRun } from '../../src/engine/job-run.ts';
import type { TaskMessage } from '../../src/engine/messages.ts';
import { MAX_BATCH_BYTES, MAX_BATCH_TASKS, ThreadRunner } from '../../src/engine/threads.ts';
import type { Taken } from '../../src/lifecycle/try-types.ts';
import { decode, encode, jobRequest } from '../support/cloud.ts';

const TARGET = 'aws';
const SPIN_STEP = fileURLToPath(new URL('../support/steps/spin.ts', import.meta.url));
/** A try is stopped 200 ms (its timeout) + 100 ms (the grace) after it started, or a little later. */
const SPIN_TIMEOUT_MS = 200;
const STOP_GRACE_MS = 100;

let arena: ChunkArena;
let runner: ThreadRunner;

beforeAll(() => {
  arena = new ChunkArena(4 * MiB);
  runner = new ThreadRunner(1, arena.buffer, STOP_GRACE_MS);
});

afterAll(async () => {
  await runner.destroy();
});

const jobRun = (jobId: string, pipeline: string, modules: string[] = []): JobRun => {
  const request = jobRequest(pipeline);
  const recipe = {
    key: JSON.stringify([request.pipeline, request.chunking.mode]),
    steps: request.pipeline,
    modules,
    mode: request.chunking.mode,
  };
  return new JobRun(jobId, request, recipe, new RetryPolicy());
};

/** Try 1 of chunk `index` of `job`, copied into the arena and claimed, as dispatch hands it to the runner. */
const taken = (job: JobRun, index: number, data: Uint8Array): Taken<TaskMessage, JobRun> => {
  const block = arena.copyIn(data) as Uint8Array;
  const message: TaskMessage = {
    jobId: job.jobId,
    index,
    attempt: 1,
    routedAt: 0,
    sha256: sha256Hex(data),
    bytes: data.byteLength,
    data: block,
  };
  const delivery = { id: `${job.jobId}#${index}`, message, redelivered: false };
  return { delivery, job, claimId: `claim-${index}`, startedAt: Date.now(), claimed: true };
};

const released = (items: readonly Taken<TaskMessage, JobRun>[]): void => {
  for (const item of items) arena.release(item.delivery.message.data);
};

describe('ThreadRunner.run', () => {
  it(`runs a job's tries in batches of at most ${MAX_BATCH_TASKS}, each of one job, outputs in task order`, async () => {
    // Prepare: 130 chunks of job a with 3 of job b among the first
    const a = jobRun('job-a', 'transform:uppercase');
    const b = jobRun('job-b', 'transform:uppercase');
    const items = Array.from({ length: 130 }, (_, i) => taken(a, i, encode(`line ${i}\n`)));
    items.splice(1, 0, ...[0, 1, 2].map((i) => taken(b, i, encode(`other ${i}\n`))));

    // Act
    const units = await runner.run(TARGET, items);
    released(items);

    // Assess
    expect(units.map((unit) => [unit[0]?.taken.job.jobId, unit.length])).toEqual([
      ['job-a', MAX_BATCH_TASKS],
      ['job-b', 3],
      ['job-a', 2],
    ]);
    for (const unit of units) {
      const jobs = new Set(unit.map((ran) => ran.taken.job));
      expect(jobs.size).toBe(1);
    }
    const ranA = units.filter((unit) => unit[0]?.taken.job === a).flat();
    expect(ranA.map((ran) => ran.taken.delivery.message.index)).toEqual([...Array(130).keys()]);
    expect(ranA.map((ran) => (ran.ok ? decode(ran.output) : ran.error.message))).toEqual(
      ranA.map((_, i) => `LINE ${i}\n`),
    );
    expect(units[1]?.map((ran) => ran.ok && decode(ran.output))).toEqual([
      'OTHER 0\n',
      'OTHER 1\n',
      'OTHER 2\n',
    ]);
    for (const ran of units.flat()) {
      expect(ran.workerId).toMatch(/^aws-\d+$/);
      expect(ran.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it(`closes a batch once it holds ${MAX_BATCH_BYTES / MiB} MiB of chunks`, async () => {
    // Prepare: 256 KiB chunks, four to a MiB
    const job = jobRun('job-a', 'transform:uppercase');
    const items = Array.from({ length: 6 }, (_, i) => taken(job, i, new Uint8Array(256 * KiB).fill(97 + i)));

    // Act
    const units = await runner.run(TARGET, items);
    released(items);

    // Assess
    expect(units.map((unit) => unit.map((ran) => ran.taken.delivery.message.index))).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
    const firstBytes = units.flat().map((ran) => (ran.ok ? [ran.output.byteLength, ran.output[0]] : []));
    expect(firstBytes).toEqual([0, 1, 2, 3, 4, 5].map((i) => [256 * KiB, 65 + i]));
  });

  it('gives back each failed try with its error, in task order, next to the outputs of the others', async () => {
    // Prepare: half the chunks poisoned, which ones known from the seed
    const job = jobRun('job-a', 'chaos:poison=0.5:seed=3');
    const items = Array.from({ length: 12 }, (_, i) => taken(job, i, encode(`chunk ${i}\n`)));
    const poisoned = items.map((_, i) => chaosRoll(3, 'poison', i) < 0.5);

    // Act
    const [unit] = await runner.run(TARGET, items);
    released(items);

    // Assess
    expect(poisoned).toContain(true);
    expect(poisoned).toContain(false);
    expect(unit?.map((ran) => (ran.ok ? decode(ran.output) : ran.error))).toEqual(
      poisoned.map((bad, i) =>
        bad
          ? { name: 'PoisonChunkError', message: expect.stringContaining(`chunk ${i} `), retryable: false }
          : `chunk ${i}\n`,
      ),
    );
  });

  it('fails every try of a batch whose thread crashed, as retryable, and runs the next batch on a new thread', async () => {
    // Prepare
    const crashing = jobRun('job-crash', 'chaos:crash=1');
    const items = [0, 1, 2].map((i) => taken(crashing, i, encode(`chunk ${i}\n`)));
    const healthy = jobRun('job-ok', 'transform:uppercase');
    const after = [taken(healthy, 0, encode('still here\n'))];

    // Act
    const [unit] = await runner.run(TARGET, items);
    const [next] = await runner.run(TARGET, after);
    released([...items, ...after]);

    // Assess
    expect(unit?.map((ran) => [ran.ok, ran.workerId, ran.durationMs])).toEqual([
      [false, 'aws-crashed', 0],
      [false, 'aws-crashed', 0],
      [false, 'aws-crashed', 0],
    ]);
    for (const ran of unit ?? []) {
      expect(ran.ok ? undefined : ran.error).toMatchObject({ name: 'WorkerCrashedError', retryable: true });
    }
    expect(next?.map((ran) => ran.ok && decode(ran.output))).toEqual(['STILL HERE\n']);
  });

  it('stops a try that never yields once past its timeout, ends its thread, and runs the others again', async () => {
    // Prepare: a runaway between two good tries, and a batch of another job queued on the same thread
    const spinning = jobRun('job-spin', `spin:timeout=${SPIN_TIMEOUT_MS}`, [SPIN_STEP]);
    const items = [taken(spinning, 0, encode('good 0\n')), taken(spinning, 1, encode('spin 1\n'))];
    items.push(taken(spinning, 2, encode('good 2\n')));
    const queued = jobRun('job-queued', 'transform:uppercase');
    const behind = [taken(queued, 0, encode('behind\n'))];
    const started = performance.now();

    // Act
    const [unit, behindUnit] = await runner.run(TARGET, [...items, ...behind]);
    const elapsedMs = performance.now() - started;
    const [later] = await runner.run(TARGET, [taken(queued, 1, encode('later\n'))]);
    released(items);

    // Assess
    expect(elapsedMs).toBeGreaterThanOrEqual(SPIN_TIMEOUT_MS + STOP_GRACE_MS);
    expect(unit?.map((ran) => [ran.taken.delivery.message.index, ran.ok])).toEqual([
      [0, true],
      [1, false],
      [2, true],
    ]);
    expect(unit?.map((ran) => ran.taken.delivery.message.attempt)).toEqual([1, 1, 1]);
    expect(unit?.filter((ran) => ran.ok).map((ran) => decode(ran.output))).toEqual(['good 0\n', 'good 2\n']);
    const stopped = unit?.[1];
    expect(stopped?.ok ? undefined : stopped?.error).toEqual({
      name: 'TryStoppedError',
      message: `stopped after its timeout of ${SPIN_TIMEOUT_MS} ms: it never yielded, so its worker thread was ended`,
      retryable: true,
    });
    expect(stopped?.durationMs).toBeGreaterThanOrEqual(SPIN_TIMEOUT_MS + STOP_GRACE_MS);
    expect(behindUnit?.map((ran) => ran.ok && decode(ran.output))).toEqual(['BEHIND\n']);
    expect(later?.map((ran) => ran.ok && decode(ran.output))).toEqual(['LATER\n']);
    expect(later?.[0]?.workerId).not.toBe(stopped?.workerId);
    expect(runner.stuck()).toEqual([]);
  });

  it('names a try running past its deadline as stuck until its thread is ended', async () => {
    // Prepare
    const spinning = jobRun('job-stuck', `spin:timeout=${SPIN_TIMEOUT_MS}`, [SPIN_STEP]);
    const items = [taken(spinning, 7, encode('spin 7\n'))];
    const patient = new ThreadRunner(1, arena.buffer, 60_000);

    // Act
    const running = patient.run(TARGET, items);
    await expect.poll(() => patient.stuck().length, { timeout: 5000 }).toBe(1);
    const stuck = patient.stuck();
    await patient.destroy();
    const [unit] = await running;
    released(items);

    // Assess
    expect(stuck).toEqual([
      {
        thread: expect.stringMatching(/^aws-\d+$/),
        jobId: 'job-stuck',
        index: 7,
        attempt: 1,
        overdueMs: expect.any(Number),
      },
    ]);
    expect(unit?.[0]).toMatchObject({ ok: false, error: { name: 'WorkerCrashedError' } });
    expect(patient.stuck()).toEqual([]);
  });
});
