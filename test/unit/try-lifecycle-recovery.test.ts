import { describe, expect, it } from 'vitest';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { TaskState } from '../../src/core/constants.ts';
import type { ClaimRequest } from '../../src/core/task.ts';
import { OutputNotStoredError } from '../../src/ports/errors.ts';
import {
  deliver,
  LEASE_MS,
  type LifecycleRig,
  lifecycleRig,
  poisoned,
  RefusingResultStore,
  TARGET,
  transient,
  tryOf,
} from '../support/lifecycle.ts';

/** Ends try 1 of chunk `index` in the store as a runner that stopped before sending its follow-up would. */
const endWithoutFollowUp = async (
  rig: LifecycleRig,
  index: number,
  outcome: typeof TaskState.completed | typeof TaskState.retrying | typeof TaskState.failed,
): Promise<void> => {
  const request = { ...tryOf(index), claimId: 'lost', target: TARGET, workerId: 'aws-fn-0' };
  await rig.tasks.claim({ ...request, now: Date.now(), leaseMs: LEASE_MS });
  const error = outcome === TaskState.retrying ? transient : poisoned;
  const ended = await rig.tasks.finish({
    ...request,
    outcome,
    now: Date.now(),
    ...(outcome !== TaskState.completed && { error }),
  });
  expect(ended).toBe(true);
};

/** The real memory task store, failing every claim of one chunk: a fault the store cannot be made to have. */
class FaultyClaimStore extends MemoryTaskStore {
  override async claim(request: ClaimRequest) {
    if (request.index === 1) throw new Error('the task store timed out');
    return super.claim(request);
  }
}

describe('TryLifecycle.process: a redelivery of a try that has ended', () => {
  it('resends at once the retry of a try recorded as retrying, and runs nothing', async () => {
    // Prepare
    const rig = await lifecycleRig();
    await endWithoutFollowUp(rig, 0, TaskState.retrying);
    const before = await rig.tasks.getTask('job-1', 0);

    // Act
    const results = await rig.process([deliver(tryOf(0), 'again', true)]);

    // Assess
    expect(results).toEqual(new Map([['again', 'duplicate']]));
    expect(await rig.retriesAfter(0)).toEqual([
      { next: { ...tryOf(0), attempt: 2, previousTarget: TARGET }, avoid: TARGET },
    ]);
    expect(await rig.deadLettered()).toEqual([]);
    expect(rig.runs).toEqual([]);
    expect(rig.dropped).toEqual([{ id: 'again', jobId: 'job-1' }]);
    expect(await rig.tasks.getTask('job-1', 0)).toEqual(before);
  });

  it('resends the dead letter of a try recorded as failed', async () => {
    // Prepare
    const rig = await lifecycleRig();
    await endWithoutFollowUp(rig, 0, TaskState.failed);

    // Act
    const results = await rig.process([deliver(tryOf(0), 'again', true)]);

    // Assess
    expect(results).toEqual(new Map([['again', 'duplicate']]));
    expect(await rig.deadLettered()).toEqual([tryOf(0)]);
    expect(await rig.retriesAfter(0)).toEqual([]);
  });

  it('sends nothing for a try recorded as completed, nor for a first delivery of a try that has ended', async () => {
    // Prepare
    const rig = await lifecycleRig();
    await endWithoutFollowUp(rig, 0, TaskState.completed);
    await endWithoutFollowUp(rig, 1, TaskState.retrying);

    // Act
    const results = await rig.process([deliver(tryOf(0), 'again', true), deliver(tryOf(1), 'copy', false)]);

    // Assess
    expect(results).toEqual(
      new Map([
        ['again', 'duplicate'],
        ['copy', 'duplicate'],
      ]),
    );
    expect(await rig.retriesAfter(0)).toEqual([]);
    expect(await rig.deadLettered()).toEqual([]);
  });
});

describe('TryLifecycle.process: outputs the result store refuses', () => {
  it('fails the try retryably, recorded and retried, and still records the other tries of the batch', async () => {
    // Prepare
    const results = new RefusingResultStore();
    const rig = await lifecycleRig({ results, failures: { 1: transient } });

    // Act
    const answers = await rig.process([deliver(tryOf(0), 'd0'), deliver(tryOf(1), 'd1')]);

    // Assess
    expect(answers).toEqual(
      new Map([
        ['d0', 'retrying'],
        ['d1', 'retrying'],
      ]),
    );
    const refused = await rig.tasks.getTask('job-1', 0);
    expect(refused?.state).toBe(TaskState.retrying);
    expect(refused?.result).toBeUndefined();
    expect(refused?.attempts[0]?.outcome).toBe(TaskState.retrying);
    expect(refused?.attempts[0]?.error).toMatchObject({ name: 'OutputNotStoredError', retryable: true });
    expect(refused?.attempts[0]?.error?.message).toMatch(/its output could not be stored: /);
    expect(rig.ended.map((end) => end.id).sort()).toEqual(['d0', 'd1']);
    expect((await rig.retriesAfter(60_000)).map((retry) => retry.next.index).sort()).toEqual([0, 1]);
    // The try itself ran: the store's refusal says nothing of the target's health.
    expect(rig.health).toEqual([
      [
        { outcome: 'success', sentAt: 500 },
        { outcome: 'failure', sentAt: 501 },
      ],
    ]);
  });

  it('records a try recorded at its end as failed retryably, and its retry completes once the store takes it', async () => {
    // Prepare
    const results = new RefusingResultStore();
    const rig = await lifecycleRig({ results, recordFirstTryAtEnd: true });
    const first = await rig.process([deliver(tryOf(0), 'd0')]);
    results.refusing = false;
    const [retry] = await rig.retriesAfter(60_000);

    // Act
    const second = await rig.process([deliver(retry?.next ?? tryOf(0), 'd0-retry')]);

    // Assess
    expect(first).toEqual(new Map([['d0', 'retrying']]));
    expect(second).toEqual(new Map([['d0-retry', 'completed']]));
    const task = await rig.tasks.getTask('job-1', 0);
    expect(task?.state).toBe(TaskState.completed);
    expect(task?.attempts.map((a) => a.outcome)).toEqual([TaskState.retrying, TaskState.completed]);
  });
});

describe('TryLifecycle.process: a try whose worker died', () => {
  it('lets a redelivery take over a claimed try whose lease has run out, and complete it', async () => {
    // Prepare: a claim held by a worker that died, its lease run out
    const rig = await lifecycleRig({ leaseMs: 0 });
    const request = { ...tryOf(0), claimId: 'claim-dead', target: TARGET, workerId: 'aws-fn-0' };
    await rig.tasks.claim({ ...request, now: Date.now() - 1, leaseMs: 0 });

    // Act
    const second = await rig.process([deliver(tryOf(0), 'd0-again', true)]);

    // Assess
    expect(second).toEqual(new Map([['d0-again', 'completed']]));
    const task = await rig.tasks.getTask('job-1', 0);
    expect(task?.state).toBe(TaskState.completed);
    expect(task?.attempts.map((a) => [a.claimId, a.outcome])).toEqual([['claim-d0-again', 'completed']]);
  });
});

describe('TryLifecycle.process: a task store fault', () => {
  it('leaves the delivery it hit to come back, and settles the others of the batch', async () => {
    // Prepare
    const rig = await lifecycleRig({ tasks: new FaultyClaimStore() });

    // Act
    const results = await rig.process([deliver(tryOf(0), 'd0'), deliver(tryOf(1), 'd1')]);

    // Assess
    expect(results).toEqual(
      new Map([
        ['d0', 'completed'],
        ['d1', 'retry'],
      ]),
    );
    expect(rig.runs.flat().map((item) => item.delivery.id)).toEqual(['d0']);
  });
});

describe('OutputNotStoredError', () => {
  it('is retryable and names its cause, an Error or not', () => {
    // Act
    const errors = [
      new OutputNotStoredError(new Error('ENOSPC: no space left')),
      new OutputNotStoredError('EIO'),
    ];

    // Assess
    expect(errors.map((error) => [error.retryable, error.message])).toEqual([
      [true, 'its output could not be stored: ENOSPC: no space left'],
      [true, 'its output could not be stored: EIO'],
    ]);
  });
});
