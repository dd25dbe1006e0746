import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { Balancer } from '../../src/core/balancer.ts';
import { sha256Hex } from '../../src/core/chunker.ts';
import { KiB, Strategy, TaskState } from '../../src/core/constants.ts';
import { RetryPolicy } from '../../src/core/retry.ts';
import { Admission } from '../../src/engine/admission.ts';
import { engineDelivery } from '../../src/engine/dispatch.ts';
import { JobRun } from '../../src/engine/job-run.ts';
import type { TaskMessage } from '../../src/engine/messages.ts';
import { type EngineEvents, targetLifecycle } from '../../src/engine/target-lifecycle.ts';
import type { Ran, Taken } from '../../src/lifecycle/try-types.ts';
import { decode, encode, jobRequest } from '../support/cloud.ts';
import { transient } from '../support/lifecycle.ts';

const TARGETS = ['aws', 'gcp'] as const;
type Target = (typeof TARGETS)[number];

/**
 * The engine's parts around its targets' try lifecycles, on the real balancer, admission and memory
 * stores; each target's queue is a memory queue, and `send` routes through the balancer as the engine does.
 */
const engineRig = async () => {
  const tasks = new MemoryTaskStore();
  const results = new MemoryResultStore();
  const balancer = new Balancer(
    TARGETS.map((name) => ({ name, weight: 1, capacity: 4 })),
    { strategy: Strategy.leastLoaded, rebalanceThreshold: 0.3 },
  );
  const admission = new Admission({ maxPendingChunks: 10, maxPendingBytes: 64 * KiB });
  const events = new EventEmitter<EngineEvents>();
  const queues = { aws: new MemoryQueue<TaskMessage>(), gcp: new MemoryQueue<TaskMessage>() };
  const request = jobRequest('transform:uppercase', { targets: [...TARGETS] });
  const recipe = { key: 'upper', steps: request.pipeline, modules: [], mode: request.chunking.mode };
  const job = new JobRun('job-1', request, recipe, new RetryPolicy({ maxAttempts: 3, baseDelayMs: 0 }));
  const jobs = new Map([[job.jobId, job]]);
  await tasks.createJob({ jobId: job.jobId, createdAt: job.createdAt, options: {} });
  const send = async (_: JobRun, message: TaskMessage, avoid: string | undefined, delayMs: number) => {
    const target = balancer.pick({ avoid, among: request.targets }) as Target;
    await queues[target].send([{ body: { ...message, routedAt: Date.now() }, delayMs }]);
  };
  const parts = {
    tasks,
    results,
    jobs,
    balancer,
    admission,
    events,
    send,
    keepsInputs: false,
    breakerReported: () => {},
  };
  const lifecycles = { aws: targetLifecycle('aws', parts), gcp: targetLifecycle('gcp', parts) };
  const seen: Record<keyof EngineEvents, unknown[]> = {
    attempt: [],
    duplicate: [],
    refused: [],
    redistributed: [],
    output: [],
    submitted: [],
    expired: [],
    rerun: [],
  };
  for (const name of Object.keys(seen) as (keyof EngineEvents)[]) {
    events.on(name, (event: unknown) => seen[name].push(event));
  }
  /** Admits chunk `index` and sends its first try, as the engine's ingest does. */
  const ingest = async (index: number, text: string) => {
    const data = encode(text);
    const block = (await admission.admit(data)) as Uint8Array;
    const sha256 = sha256Hex(data);
    const bytes = data.byteLength;
    await tasks.putTasks([
      { jobId: job.jobId, index, state: TaskState.pending, bytes, sha256, attempts: [], updatedAt: 0 },
    ]);
    job.stats.taskCreated(bytes);
    await send(
      job,
      { jobId: job.jobId, index, attempt: 1, sha256, bytes, data: block, routedAt: 0 },
      undefined,
      0,
    );
  };
  /** Hands what `target`'s queue holds to its lifecycle, running each try as `outcome` says. */
  const deliverAll = async (target: Target, outcome: 'upper' | 'fail' = 'upper') => {
    const deliveries = await queues[target].receive({ max: 100, waitMs: 0, visibilityMs: 60_000 });
    const run = async (taken: readonly Taken<TaskMessage, JobRun>[]) => [
      taken.map(
        (item): Ran<TaskMessage, JobRun> =>
          outcome === 'fail'
            ? { taken: item, ok: false, error: transient, durationMs: 2 }
            : {
                taken: item,
                ok: true,
                output: encode(decode(item.delivery.message.data).toUpperCase()),
                durationMs: 2,
              },
      ),
    ];
    const answers = await lifecycles[target].process(deliveries.map(engineDelivery), run);
    return { deliveries, answers: [...answers.values()] };
  };
  const inFlight = () => Object.fromEntries(balancer.loads().map((load) => [load.name, load.inFlight]));
  return { job, tasks, admission, queues, seen, ingest, deliverAll, inFlight };
};

describe('targetLifecycle: what the engine does as its tries pass', () => {
  it('counts a completed try, tells its attempt and output, and gives its chunk and balancer slot back', async () => {
    // Prepare
    const rig = await engineRig();
    await rig.ingest(0, 'alpha\n');
    const target = (await rig.queues.aws.depth()) > 0 ? 'aws' : 'gcp';

    // Act
    const { answers } = await rig.deliverAll(target);

    // Assess
    expect(answers).toEqual(['completed']);
    expect(rig.seen.attempt).toEqual([
      expect.objectContaining({
        jobId: 'job-1',
        index: 0,
        target,
        attempt: 1,
        outcome: 'completed',
        bytesOut: 6,
      }),
    ]);
    expect(rig.seen.output).toEqual([{ jobId: 'job-1', index: 0, data: encode('ALPHA\n') }]);
    expect(rig.admission.pendingChunks).toBe(0);
    expect(rig.inFlight()).toEqual({ aws: 0, gcp: 0 });
    expect(rig.job.finished).toBe(1);
    expect(rig.job.stats.snapshot().states.completed).toBe(1);
  });

  it('keeps the chunk of a try that will be retried, and sends the retry to the other target', async () => {
    // Prepare
    const rig = await engineRig();
    await rig.ingest(0, 'alpha\n');
    const [first, other] =
      (await rig.queues.aws.depth()) > 0 ? (['aws', 'gcp'] as const) : (['gcp', 'aws'] as const);

    // Act
    const failed = await rig.deliverAll(first, 'fail');
    const retried = await rig.deliverAll(other);

    // Assess
    expect(failed.answers).toEqual(['retrying']);
    expect(retried.answers).toEqual(['completed']);
    expect(rig.seen.redistributed).toEqual([
      { jobId: 'job-1', index: 0, attempt: 2, target: other, from: first },
    ]);
    expect(rig.seen.attempt.map((a) => (a as { outcome: string }).outcome)).toEqual([
      'retrying',
      'completed',
    ]);
    expect(rig.admission.pendingChunks).toBe(0);
    expect(rig.inFlight()).toEqual({ aws: 0, gcp: 0 });
  });

  it('counts a duplicate delivery and tells of it, without running it', async () => {
    // Prepare
    const rig = await engineRig();
    await rig.ingest(0, 'alpha\n');
    const target = (await rig.queues.aws.depth()) > 0 ? 'aws' : 'gcp';
    const { deliveries } = await rig.deliverAll(target);
    await rig.queues[target].send([{ body: deliveries[0]?.body as TaskMessage }]);

    // Act
    const { answers } = await rig.deliverAll(target);

    // Assess
    expect(answers).toEqual(['duplicate']);
    expect(rig.seen.duplicate).toEqual([{ jobId: 'job-1', target }]);
    expect(rig.job.stats.snapshot().duplicates).toBe(1);
    expect(rig.seen.attempt).toHaveLength(1);
  });

  // A resent retry would be picked on the balancer twice and released once: the engine resends nothing.
  it('resends nothing when an ended try is delivered again, so no try stays in flight', async () => {
    // Prepare: try 1 fails, and its retry goes to the other target
    const rig = await engineRig();
    await rig.ingest(0, 'alpha\n');
    const [first, other] =
      (await rig.queues.aws.depth()) > 0 ? (['aws', 'gcp'] as const) : (['gcp', 'aws'] as const);
    const { deliveries } = await rig.deliverAll(first, 'fail');

    // Act: try 1's delivery comes back (its visibility ran out) before try 2 is taken, then try 2 runs
    await rig.queues[first].release(deliveries[0]?.receipt as string, 0);
    const redelivered = await rig.deliverAll(first);
    const second = await rig.deliverAll(other);

    // Assess
    expect(redelivered.answers).toEqual(['duplicate']);
    expect(second.answers).toEqual(['completed']);
    expect((await rig.tasks.getTask('job-1', 0))?.state).toBe(TaskState.completed);
    expect(rig.inFlight()).toEqual({ aws: 0, gcp: 0 });
  });
});
