import { setTimeout } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { sha256Hex } from '../../src/core/chunker.ts';
import { MiB, TaskState } from '../../src/core/constants.ts';
import { DEFAULT_LANE_SHARES } from '../../src/core/lanes.ts';
import { RetryPolicy } from '../../src/core/retry.ts';
import type { FinishRequest, ResultRef } from '../../src/core/task.ts';
import { ChunkArena } from '../../src/engine/arena.ts';
import { TargetDispatch, VISIBILITY_MS } from '../../src/engine/dispatch.ts';
import { JobRun } from '../../src/engine/job-run.ts';
import type { TaskMessage } from '../../src/engine/messages.ts';
import { ThreadRunner } from '../../src/engine/threads.ts';
import { TryLifecycle } from '../../src/lifecycle/try-lifecycle.ts';
import type { Taken } from '../../src/lifecycle/try-types.ts';
import type { ResultStore } from '../../src/ports/result-store.ts';
import { encode, jobRequest } from '../support/cloud.ts';

/** The real memory task store, failing every finish of one job: a store fault it cannot be made to have. */
class FinishRefusingStore extends MemoryTaskStore {
  readonly #jobId: string;

  constructor(jobId: string) {
    super();
    this.#jobId = jobId;
  }

  override async finish(request: FinishRequest): Promise<boolean> {
    if (request.jobId === this.#jobId) throw new Error('the task store timed out');
    return super.finish(request);
  }
}

const TARGET = 'aws';

/** The real thread runner, counting the runs under way at once; while held, runs wait before they start. */
class CountingRunner extends ThreadRunner {
  active = 0;
  mostActive = 0;
  /** How many tries each run was given. */
  readonly sizes: number[] = [];
  #held: PromiseWithResolvers<void> | undefined;

  hold(): () => void {
    const held = Promise.withResolvers<void>();
    this.#held = held;
    return () => {
      this.#held = undefined;
      held.resolve();
    };
  }

  override async run(target: string, taken: readonly Taken<TaskMessage, JobRun>[]) {
    this.active++;
    this.sizes.push(taken.length);
    this.mostActive = Math.max(this.mostActive, this.active);
    try {
      await this.#held?.promise;
      return await super.run(target, taken);
    } finally {
      this.active--;
    }
  }
}

/** The real memory result store, holding every write until `open` is called. */
class GatedResultStore extends MemoryResultStore {
  puts = 0;
  readonly #gate = Promise.withResolvers<void>();

  open(): void {
    this.#gate.resolve();
  }

  override async put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]> {
    this.puts++;
    await this.#gate.promise;
    return super.put(jobId, outputs);
  }
}

let arena: ChunkArena;
let runner: CountingRunner;

beforeAll(() => {
  arena = new ChunkArena(MiB);
  runner = new CountingRunner(1, arena.buffer);
});

afterAll(async () => {
  await runner.destroy();
});

const jobRun = (jobId: string, pipeline: string): JobRun => {
  const request = jobRequest(pipeline, { targets: [TARGET] });
  const recipe = { key: pipeline, steps: request.pipeline, modules: [], mode: request.chunking.mode };
  return new JobRun(jobId, request, recipe, new RetryPolicy({ maxAttempts: 1 }));
};

interface DispatchRigOptions {
  workers: number;
  tasks?: MemoryTaskStore;
  receiveMax?: number;
  results?: ResultStore;
  jobs: JobRun[];
}

/** One target's dispatch over a try lifecycle on the memory stores, noting the receipt of every delivery. */
const dispatchRig = async ({ workers, receiveMax = 128, results, jobs, ...options }: DispatchRigOptions) => {
  const tasks = options.tasks ?? new MemoryTaskStore();
  const known = new Map(jobs.map((job) => [job.jobId, job]));
  for (const job of jobs) await tasks.createJob({ jobId: job.jobId, createdAt: job.createdAt, options: {} });
  const receipts: { id: string; jobId: string }[] = [];
  const lifecycle = new TryLifecycle<TaskMessage, JobRun>({
    target: TARGET,
    workerId: TARGET,
    tasks,
    results: results ?? new MemoryResultStore(),
    leaseMs: VISIBILITY_MS,
    jobs: (jobId) => known.get(jobId),
    cancelled: (job) => job.cancelledAt !== undefined,
    chunkFacts: (_, { sha256, bytes }) => ({ recorded: { sha256, bytes } }),
    // A delivery of a job nobody knows is refused at once, not held.
    graceMs: 0,
    followUps: { retry: async () => {}, deadLetter: async () => {} },
    health: () => {},
    hooks: {
      taken: ({ delivery: { id, message } }) => receipts.push({ id, jobId: message.jobId }),
      dropped: ({ id, message }) => receipts.push({ id, jobId: message.jobId }),
      refused: ({ id, message }) => receipts.push({ id, jobId: message.jobId }),
    },
  });
  const work: Promise<void>[] = [];
  const dispatch = new TargetDispatch(lifecycle, runner, {
    workers,
    shares: DEFAULT_LANE_SHARES,
    duplicateRate: 0,
    receiveMax: () => receiveMax,
    track: (promise) => work.push(promise),
  });
  const send = (jobId: string, index: number, text: string) => {
    const data = encode(text);
    const body: TaskMessage = {
      jobId,
      index,
      attempt: 1,
      routedAt: Date.now(),
      sha256: sha256Hex(data),
      bytes: data.byteLength,
      data: arena.copyIn(data) as Uint8Array,
    };
    return dispatch.queue.send('medium', [{ body }]);
  };
  /** Waits for `deliveries` to have been taken or dropped, then for their work to end; stops the loop. */
  const settle = async (deliveries: number) => {
    await vi.waitFor(() => expect(receipts).toHaveLength(deliveries), { timeout: 10_000 });
    await dispatch.stop();
    await Promise.all(work);
  };
  /** The jobs of the deliveries still in flight, unacknowledged: those a release hands back to the queue. */
  const unacknowledged = async () => {
    const jobIds: string[] = [];
    for (const { id, jobId } of receipts) {
      const before = (await dispatch.queue.depths()).medium;
      await dispatch.queue.release(id, 0);
      if ((await dispatch.queue.depths()).medium > before) jobIds.push(jobId);
    }
    return jobIds;
  };
  return { dispatch, tasks, send, settle, unacknowledged, receipts };
};

describe('TargetDispatch', () => {
  it('runs at most as many deliveries at once as the target has workers', async () => {
    // Prepare: one message per receive, and runs held until the test lets them go
    const job = jobRun('job-a', 'transform:uppercase');
    const rig = await dispatchRig({ workers: 2, receiveMax: 1, jobs: [job] });
    for (let i = 0; i < 6; i++) await rig.send('job-a', i, `chunk ${i}\n`);
    runner.mostActive = 0;
    const release = runner.hold();

    // Act
    rig.dispatch.start();
    await vi.waitFor(() => expect(runner.active).toBe(2));
    await setTimeout(100);
    const whileHeld = { active: runner.active, taken: rig.receipts.length };
    release();
    await rig.settle(6);

    // Assess
    expect(whileHeld).toEqual({ active: 2, taken: 2 });
    expect(runner.mostActive).toBe(2);
    const tasks = await rig.tasks.listTasks('job-a');
    expect(tasks.map((t) => t.state)).toEqual(Array(6).fill(TaskState.completed));
  });

  it('takes what queued up while its only worker was busy as one delivery batch', async () => {
    // Prepare
    const job = jobRun('job-a', 'transform:uppercase');
    const rig = await dispatchRig({ workers: 1, jobs: [job] });
    await rig.send('job-a', 0, 'first\n');
    runner.mostActive = 0;
    runner.sizes.length = 0;
    const release = runner.hold();
    rig.dispatch.start();
    await vi.waitFor(() => expect(runner.active).toBe(1));

    // Act
    for (let i = 1; i < 4; i++) await rig.send('job-a', i, `chunk ${i}\n`);
    release();
    await rig.settle(4);

    // Assess
    expect(runner.mostActive).toBe(1);
    const tasks = await rig.tasks.listTasks('job-a');
    expect(tasks.map((t) => t.state)).toEqual(Array(4).fill(TaskState.completed));
    expect(runner.sizes).toEqual([1, 3]);
  });

  it('frees a worker once its tries have run, while their outputs are still being stored', async () => {
    // Prepare
    const results = new GatedResultStore();
    const job = jobRun('job-a', 'transform:uppercase');
    const rig = await dispatchRig({ workers: 1, receiveMax: 1, results, jobs: [job] });
    await rig.send('job-a', 0, 'first\n');
    await rig.send('job-a', 1, 'second\n');

    // Act
    rig.dispatch.start();
    await vi.waitFor(() => expect(results.puts).toBe(2));
    results.open();
    await rig.settle(2);

    // Assess
    const tasks = await rig.tasks.listTasks('job-a');
    expect(tasks.map((t) => t.state)).toEqual([TaskState.completed, TaskState.completed]);
  });

  it('acknowledges every settled delivery and leaves one whose end could not be recorded in flight', async () => {
    // Prepare
    const refused = jobRun('job-refused', 'transform:uppercase');
    const poisoned = jobRun('job-poisoned', 'chaos:poison=1');
    const rig = await dispatchRig({
      workers: 1,
      tasks: new FinishRefusingStore('job-refused'),
      jobs: [refused, poisoned],
    });
    await rig.send('job-refused', 0, 'kept\n');
    await rig.send('job-poisoned', 0, 'bad\n');
    await rig.send('job-poisoned', 0, 'bad\n');
    await rig.send('job-gone', 0, 'expired\n');

    // Act
    rig.dispatch.start();
    await rig.settle(4);

    // Assess
    expect((await rig.tasks.getTask('job-refused', 0))?.state).toBe(TaskState.processing);
    expect((await rig.tasks.getTask('job-poisoned', 0))?.state).toBe(TaskState.failed);
    expect(rig.receipts.map((r) => r.jobId).toSorted()).toEqual([
      'job-gone',
      'job-poisoned',
      'job-poisoned',
      'job-refused',
    ]);
    expect(await rig.unacknowledged()).toEqual(['job-refused']);
  });
});
