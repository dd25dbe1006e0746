import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/chunker.ts';
import { KiB, MiB } from '../../src/core/constants.ts';
import { chaosRoll } from '../../src/core/pipeline/steps/chaos.ts';
import { RetryPolicy } from '../../src/core/retry.ts';
import { ChunkArena } from '../../src/engine/arena.ts';
import { JobRun } from '../../src/engine/job-run.ts';
import type { TaskMessage } from '../../src/engine/messages.ts';
import { MAX_BATCH_BYTES, MAX_BATCH_TASKS, ThreadRunner } from '../../src/engine/threads.ts';
import type { Taken } from '../../src/lifecycle/try-lifecycle.ts';
import { decode, encode, jobRequest } from '../support/cloud.ts';

const TARGET = 'aws';

let arena: ChunkArena;
let runner: ThreadRunner;

beforeAll(() => {
  arena = new ChunkArena(4 * MiB);
  runner = new ThreadRunner(1, arena.buffer);
});

afterAll(async () => {
  await runner.destroy();
});

const jobRun = (jobId: string, pipeline: string): JobRun => {
  const request = jobRequest(pipeline);
  const recipe = {
    key: JSON.stringify([request.pipeline, request.chunking.mode]),
    steps: request.pipeline,
    modules: [],
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
});
