import { describe, expect, it } from 'vitest';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { readOne } from '../../src/adapters/result-reading.ts';
import { TaskState } from '../../src/core/constants.ts';
import { decode } from '../support/cloud.ts';
import { deliver, LEASE_MS, lifecycleRig, poisoned, TARGET, transient, tryOf } from '../support/lifecycle.ts';

describe('TryLifecycle.process: taking a try', () => {
  it('claims a first delivery before running it, then ends that claim with the output stored', async () => {
    // Prepare
    const rig = await lifecycleRig();
    const before = Date.now();

    // Act
    const results = await rig.process([deliver(tryOf(0), 'd0')]);

    // Assess
    expect(results).toEqual(new Map([['d0', 'completed']]));
    expect(rig.statesWhileRunning).toEqual([TaskState.processing]);
    const task = await rig.tasks.getTask('job-1', 0);
    expect(task).toMatchObject({ state: TaskState.completed, bytesOut: 5 });
    expect(task?.leaseExpiresAt).toBeUndefined();
    expect(task?.attempts).toHaveLength(1);
    expect(task?.attempts[0]).toMatchObject({
      attempt: 1,
      target: TARGET,
      workerId: 'thread-3',
      claimId: 'claim-d0',
      outcome: TaskState.completed,
      durationMs: 1.235,
    });
    expect(task?.attempts[0]?.startedAt).toBeGreaterThanOrEqual(before);
    expect(decode(await readOne(rig.results, 'job-1', task?.result as string))).toBe('out-0');
  });

  it('records a first delivery whole at its end when asked to, but still claims a redelivery first', async () => {
    // Prepare
    const rig = await lifecycleRig({ recordFirstTryAtEnd: true });
    const first = deliver(tryOf(0), 'd0');
    const redelivered = deliver(tryOf(1), 'd1', true);

    // Act
    const results = await rig.process([first, redelivered]);

    // Assess
    expect(results).toEqual(
      new Map([
        ['d0', 'completed'],
        ['d1', 'completed'],
      ]),
    );
    // While running, the first delivery's task did not exist yet; the redelivery held its claim.
    expect(rig.statesWhileRunning).toEqual([undefined, TaskState.processing]);
    const tasks = await rig.tasks.listTasks('job-1');
    expect(tasks.map((t) => t.state)).toEqual([TaskState.completed, TaskState.completed]);
    for (const task of tasks) {
      expect(task.attempts).toHaveLength(1);
      expect(task.attempts[0]).toMatchObject({ target: TARGET, workerId: 'thread-3', outcome: 'completed' });
      expect(task.attempts[0]?.endedAt).toBeGreaterThanOrEqual(task.attempts[0]?.startedAt as number);
    }
    expect(rig.runs.map((run) => run.map((item) => [item.delivery.id, item.claimed]))).toEqual([
      [
        ['d0', false],
        ['d1', true],
      ],
    ]);
  });

  it('runs one copy of a first delivery that came twice in a batch, and answers the other duplicate', async () => {
    // Prepare: recorded at its end, so no claim tells the copies apart
    const rig = await lifecycleRig({ recordFirstTryAtEnd: true });
    const copies = ['d0', 'd0-copy', 'd0-third'].map((id) => deliver(tryOf(0), id));

    // Act
    const results = await rig.process(copies);

    // Assess
    expect(results).toEqual(
      new Map([
        ['d0', 'completed'],
        ['d0-copy', 'duplicate'],
        ['d0-third', 'duplicate'],
      ]),
    );
    expect(rig.runs.flat().map((item) => item.delivery.id)).toEqual(['d0']);
    expect(rig.dropped).toEqual([
      { id: 'd0-copy', jobId: 'job-1' },
      { id: 'd0-third', jobId: 'job-1' },
    ]);
    expect((await rig.tasks.getTask('job-1', 0))?.attempts).toHaveLength(1);
  });

  it('refuses a delivery of a job nobody knows past its grace: dead-lettered, nothing run or recorded', async () => {
    // Prepare
    const rig = await lifecycleRig();

    // Act
    const results = await rig.process([deliver(tryOf(0, { jobId: 'expired' }), 'd0')]);

    // Assess
    expect(results).toEqual(new Map([['d0', 'refused']]));
    expect(rig.runs).toEqual([]);
    expect(rig.refused).toEqual([{ id: 'd0', reason: 'job expired is not known' }]);
    expect((await rig.deadLettered()).map((m) => m.jobId)).toEqual(['expired']);
    expect(await rig.tasks.getTask('expired', 0)).toBeUndefined();
    // A batch that ran nothing says nothing of its target.
    expect(rig.health).toEqual([]);
  });

  it('answers duplicate to a first delivery whose try another delivery holds, and runs nothing', async () => {
    // Prepare
    const rig = await lifecycleRig();
    await rig.process([deliver(tryOf(0), 'd0')]);

    // Act
    const results = await rig.process([deliver(tryOf(0), 'd0-later')]);

    // Assess
    expect(results).toEqual(new Map([['d0-later', 'duplicate']]));
    expect(rig.runs).toHaveLength(1);
    expect(rig.dropped).toEqual([{ id: 'd0-later', jobId: 'job-1' }]);
  });
});

describe('TryLifecycle.process: ending a try', () => {
  it('records a retryable failure with tries left as retrying, then sends the next try after its backoff', async () => {
    // Prepare
    const rig = await lifecycleRig({ failures: { 0: transient } });

    // Act
    const results = await rig.process([deliver(tryOf(0), 'd0')]);

    // Assess
    expect(results).toEqual(new Map([['d0', 'retrying']]));
    const task = await rig.tasks.getTask('job-1', 0);
    expect(task).toMatchObject({ state: TaskState.retrying });
    expect(task?.attempts[0]).toMatchObject({ outcome: TaskState.retrying, error: transient });
    expect(await rig.retriesAfter(49)).toEqual([]);
    expect(await rig.retriesAfter(1)).toEqual([
      { next: { ...tryOf(0), attempt: 2, previousTarget: TARGET }, avoid: TARGET },
    ]);
    expect(await rig.deadLettered()).toEqual([]);
  });

  it('fails and dead-letters a retryable failure on its last try and a permanent one on its first', async () => {
    // Prepare
    const rig = await lifecycleRig({ failures: { 0: transient, 1: poisoned } });
    const lastTry = tryOf(0, { attempt: 3 });
    for (const attempt of [1, 2]) {
      const claimId = `earlier-${attempt}`;
      const request = { ...tryOf(0), attempt, claimId, target: 'gcp', workerId: 'gcp-fn' };
      await rig.tasks.claim({ ...request, now: Date.now(), leaseMs: LEASE_MS });
      await rig.tasks.finish({ ...request, outcome: TaskState.retrying, now: Date.now(), error: transient });
    }

    // Act
    const results = await rig.process([deliver(lastTry, 'd0'), deliver(tryOf(1), 'd1')]);

    // Assess
    expect(results).toEqual(
      new Map([
        ['d0', 'failed'],
        ['d1', 'failed'],
      ]),
    );
    const tasks = await rig.tasks.listTasks('job-1');
    expect(tasks.map((t) => [t.state, t.error, t.attempts.length])).toEqual([
      [TaskState.failed, transient, 3],
      [TaskState.failed, poisoned, 1],
    ]);
    expect(await rig.deadLettered()).toEqual([lastTry, tryOf(1)]);
    expect(await rig.retriesAfter(60_000)).toEqual([]);
  });

  it('records nothing and sends nothing for a first try recorded at its end after another delivery claimed it', async () => {
    // Prepare
    const rig = await lifecycleRig({ recordFirstTryAtEnd: true, failures: { 0: transient } });
    const message = tryOf(0);
    const holder = { ...message, claimId: 'holder', target: 'gcp', workerId: 'gcp-fn' };
    await rig.tasks.claim({ ...holder, now: Date.now(), leaseMs: LEASE_MS });
    const held = await rig.tasks.getTask('job-1', 0);

    // Act
    const results = await rig.process([deliver(message, 'd0')]);

    // Assess
    expect(results).toEqual(new Map([['d0', 'duplicate']]));
    expect(await rig.tasks.getTask('job-1', 0)).toEqual(held);
    expect(rig.ended).toEqual([]);
    expect(await rig.retriesAfter(60_000)).toEqual([]);
    // It ran, so what it did still counts for the target's health.
    expect(rig.health).toEqual([[{ outcome: 'failure', sentAt: message.routedAt }]]);
  });

  it('leaves a taken delivery that the runtime gave nothing back for to come back', async () => {
    // Prepare
    const rig = await lifecycleRig();

    // Act
    const results = await rig.lifecycle.process([deliver(tryOf(0), 'd0'), deliver(tryOf(1), 'd1')], (taken) =>
      rig.run(taken.slice(0, 1)),
    );

    // Assess
    expect(results).toEqual(
      new Map([
        ['d0', 'completed'],
        ['d1', 'retry'],
      ]),
    );
    expect((await rig.tasks.getTask('job-1', 1))?.state).toBe(TaskState.processing);
  });
});

describe('TryLifecycle.process: health and hooks', () => {
  it('reports the health of each try that ran once, in task order, before storing anything or freeing the runner', async () => {
    // Prepare
    const rig = await lifecycleRig({ failures: { 1: transient, 2: poisoned } });
    const deliveries = [
      deliver(tryOf(0), 'd0'),
      deliver(tryOf(1), 'd1'),
      deliver(tryOf(2), 'd2'),
      deliver(tryOf(3, { jobId: 'job-2' }), 'd3'),
    ];

    // Act
    await rig.process(deliveries);

    // Assess
    expect(rig.events).toEqual(['run', `health ${TARGET}`, 'afterRun']);
    expect(rig.health).toEqual([
      [
        { outcome: 'success', sentAt: 500 },
        { outcome: 'failure', sentAt: 501 },
        { outcome: 'neutral', sentAt: 502 },
        { outcome: 'success', sentAt: 503 },
      ],
    ]);
  });

  it('calls each hook once for each try or delivery it concerns', async () => {
    // Prepare
    const rig = await lifecycleRig({ failures: { 1: transient } });
    const deliveries = [
      deliver(tryOf(0), 'd0'),
      deliver(tryOf(1), 'd1'),
      deliver(tryOf(0), 'd0-copy'),
      deliver(tryOf(0, { jobId: 'expired' }), 'd-expired'),
    ];

    // Act
    const results = await rig.process(deliveries);

    // Assess
    expect(results).toEqual(
      new Map([
        ['d0', 'completed'],
        ['d1', 'retrying'],
        ['d0-copy', 'duplicate'],
        ['d-expired', 'refused'],
      ]),
    );
    expect(rig.taken).toEqual(['d0', 'd1']);
    expect(rig.ended.map(({ id, settlement }) => [id, settlement.state, settlement.followUp.kind])).toEqual([
      ['d0', TaskState.completed, 'none'],
      ['d1', TaskState.retrying, 'retry'],
    ]);
    expect(rig.dropped).toEqual([{ id: 'd0-copy', jobId: 'job-1' }]);
    expect(rig.refused.map((r) => r.id)).toEqual(['d-expired']);
  });
});

describe('TryLifecycle.process: rejects', () => {
  it("stores a try's rejects in the same write as its output, and records where and how many", async () => {
    // Prepare
    const writes: number[] = [];
    const results = new (class extends MemoryResultStore {
      override put(jobId: string, outputs: readonly Uint8Array[]) {
        writes.push(outputs.length);
        return super.put(jobId, outputs);
      }
    })();
    const rig = await lifecycleRig({ results, rejects: { 1: ['{"line":7}', '{"line":9}'] } });

    // Act
    await rig.process([deliver(tryOf(0), 'd0'), deliver(tryOf(1), 'd1')]);

    // Assess
    expect(writes).toEqual([3]);
    const [plain, rejected] = await Promise.all([
      rig.tasks.getTask('job-1', 0),
      rig.tasks.getTask('job-1', 1),
    ]);
    expect(plain?.rejects).toBeUndefined();
    expect(rejected?.rejected).toBe(2);
    expect(decode(await readOne(rig.results, 'job-1', rejected?.result as string))).toBe('out-1');
    expect(decode(await readOne(rig.results, 'job-1', rejected?.rejects as string))).toBe(
      '{"line":7}\n{"line":9}\n',
    );
  });
});
