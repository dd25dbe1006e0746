import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Priority } from '../../src/core/constants.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { createEngine } from '../../src/engine/from-config.ts';

const CHUNK_SIZE = 65_536;
/** 64 lines of 1 KiB fill a chunk of 64 KiB. */
const LINES_PER_CHUNK = 64;
/** Each try waits this long, so that work queues up as it would behind real work. */
const PIPELINE = 'chaos:delay=5';
/**
 * Two targets of one worker slot each; a slot takes a batch of up to 1 MiB of chunks at once (16 of
 * 64 KiB), so the engine has 32 tries in hand at a time: its slots, counted in tries.
 */
const SLOTS_IN_TRIES = 2 * 1 * 16;

const chunks = (count: number): Buffer =>
  Buffer.from(`${'x'.repeat(1023)}\n`.repeat(count * LINES_PER_CHUNK));

let dir: string;
let engine: Engine;
const config = () =>
  loadConfig({
    env: {
      FANOUT_CHUNKING_SIZE: String(CHUNK_SIZE),
      FANOUT_WORKERS_PER_TARGET: '1',
      FANOUT_THREADS: '2',
      // Room for the whole backlog, so that it is queued, not waiting to be read.
      FANOUT_MAX_PENDING_BYTES: String(96 * 2 ** 20),
      FANOUT_MAX_PENDING_CHUNKS: '2048',
    },
    cwd: dir,
  });

const submit = async (count: number, priority: Priority) => {
  const c = config();
  return engine.submit(Readable.from([chunks(count)]), jobRequestFrom(c, { pipeline: PIPELINE, priority }));
};

const queued = async (): Promise<number> =>
  Object.values(await engine.queueDepths())
    .flatMap((lanes) => Object.values(lanes))
    .reduce((sum, depth) => sum + depth, 0);
const tasksOf = async (jobId: string): Promise<TaskRecord[]> => (await engine.listTasks(jobId)) ?? [];
const completedAt = (task: TaskRecord): number => task.attempts.at(-1)?.endedAt ?? Number.POSITIVE_INFINITY;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-lanes-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('priority lanes on the embedded engine', () => {
  afterEach(() => engine.close());

  it('runs a high job submitted behind a low backlog of 20x the slots before a quarter of the backlog', async () => {
    // Prepare
    engine = await createEngine(config(), { baseDir: dir });
    const low = await submit(25 * SLOTS_IN_TRIES, 'low');
    await low.ingested;
    const backlog = await queued();

    // Act
    const high = await submit(SLOTS_IN_TRIES, 'high');
    const highView = await high.done;
    await low.done;

    // Assess
    expect(backlog).toBeGreaterThanOrEqual(20 * SLOTS_IN_TRIES);
    expect(highView.priority).toBe('high');
    expect(highView.chunksCompleted).toBe(SLOTS_IN_TRIES);
    const highDone = Math.max(...(await tasksOf(high.jobId)).map(completedAt));
    const lowTasks = await tasksOf(low.jobId);
    const lowDoneBefore = lowTasks.filter((task) => completedAt(task) <= highDone).length;
    expect(lowTasks).toHaveLength(25 * SLOTS_IN_TRIES);
    expect(lowDoneBefore).toBeLessThan(lowTasks.length / 4);
  });

  it('gives a low job under a steady stream of high work at least its 10% of each target', async () => {
    // Prepare
    engine = await createEngine(config(), { baseDir: dir });
    const highJobs = [(await submit(4 * SLOTS_IN_TRIES, 'high')).jobId];
    let lowDone = false;
    const stream = (async () => {
      while (!lowDone) {
        const job = await submit(2 * SLOTS_IN_TRIES, 'high');
        highJobs.push(job.jobId);
        await job.ingested;
        // Keeps high work waiting all along: a new job long before the ones queued have run.
        while (!lowDone && (await queued()) > 3 * SLOTS_IN_TRIES)
          await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    // Act
    const low = await submit(3 * SLOTS_IN_TRIES, 'low');
    const lowView = await low.done;
    lowDone = true;
    await stream;
    await Promise.all(highJobs.map((jobId) => engine.cancel(jobId)));

    // Assess
    expect(lowView.chunksCompleted).toBe(3 * SLOTS_IN_TRIES);
    const lowTries = (await tasksOf(low.jobId)).flatMap((task) => task.attempts);
    const highTries = (await Promise.all(highJobs.map(tasksOf))).flat().flatMap((task) => task.attempts);
    for (const target of ['aws', 'gcp']) {
      const lowStarts = lowTries.filter((a) => a.target === target).map((a) => a.startedAt);
      const [from, to] = [Math.min(...lowStarts), Math.max(...lowStarts)];
      const highInWindow = highTries.filter(
        (a) => a.target === target && a.startedAt >= from && a.startedAt <= to,
      ).length;
      // High work waited all through the window: the lane shares, not an idle high lane, set the split.
      expect(highInWindow).toBeGreaterThan(lowStarts.length);
      expect(lowStarts.length / (lowStarts.length + highInWindow)).toBeGreaterThanOrEqual(0.1);
    }
  });
});
