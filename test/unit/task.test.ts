import { describe, expect, it } from 'vitest';
import type { TaskState } from '../../src/core/constants.ts';
import {
  applyClaim,
  applyFinish,
  type ClaimRequest,
  canTransition,
  type FinishRequest,
  IllegalTransitionError,
  isFinal,
  type TaskRecord,
} from '../../src/core/task.ts';

const newTask = (): TaskRecord => ({
  jobId: 'job-1',
  index: 3,
  state: 'pending',
  bytes: 100,
  sha256: 'ab'.repeat(32),
  attempts: [],
  updatedAt: 0,
});

const claimRequest = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
  jobId: 'job-1',
  index: 3,
  attempt: 1,
  target: 'aws',
  workerId: 'aws-0',
  claimId: 'claim-1',
  now: 1_000,
  leaseMs: 500,
  bytes: 100,
  sha256: 'ab'.repeat(32),
  ...overrides,
});

const finishRequest = (overrides: Partial<FinishRequest> = {}): FinishRequest => ({
  jobId: 'job-1',
  index: 3,
  attempt: 1,
  claimId: 'claim-1',
  outcome: 'completed',
  now: 1_200,
  ...overrides,
});

/** The task after a claim that the test expects to succeed. */
const claimed = (task: TaskRecord, request: ClaimRequest): TaskRecord => {
  const result = applyClaim(task, request);
  if (!result.claimed) throw new Error(`claim refused in state ${result.state}`);
  return result.task;
};

describe('applyClaim', () => {
  it('claims a pending task for try 1 and starts its lease', () => {
    // Prepare
    const task = newTask();

    // Act
    const result = applyClaim(task, claimRequest());

    // Assess
    expect(result).toEqual({
      claimed: true,
      task: {
        ...task,
        state: 'processing',
        attempts: [{ attempt: 1, target: 'aws', workerId: 'aws-0', claimId: 'claim-1', startedAt: 1_000 }],
        leaseExpiresAt: 1_500,
        updatedAt: 1_000,
      },
    });
  });

  it('refuses a duplicate delivery of the same try while its lease runs', () => {
    // Prepare
    const task = claimed(newTask(), claimRequest());

    // Act
    const result = applyClaim(task, claimRequest({ claimId: 'claim-2', workerId: 'gcp-0', now: 1_499 }));

    // Assess
    expect(result).toEqual({ claimed: false, state: 'processing' });
  });

  it.each([
    { name: 'try 2 of a pending task', attempt: 2 },
    { name: 'try 0 of a pending task', attempt: 0 },
  ])('refuses a claim with the wrong try number: $name', ({ attempt }) => {
    // Prepare
    const task = newTask();

    // Act
    const result = applyClaim(task, claimRequest({ attempt }));

    // Assess
    expect(result).toEqual({ claimed: false, state: 'pending' });
  });

  it('claims a retrying task for the next try only', () => {
    // Prepare
    const first = claimed(newTask(), claimRequest());
    const retrying = applyFinish(first, finishRequest({ outcome: 'retrying' })) as TaskRecord;

    // Act
    const stale = applyClaim(retrying, claimRequest({ attempt: 1, claimId: 'claim-2', now: 2_000 }));
    const next = claimed(retrying, claimRequest({ attempt: 2, claimId: 'claim-2', now: 2_000 }));

    // Assess
    expect(stale).toEqual({ claimed: false, state: 'retrying' });
    expect(next.attempts.map((a) => [a.attempt, a.claimId])).toEqual([
      [1, 'claim-1'],
      [2, 'claim-2'],
    ]);
  });

  it('takes over a try whose lease ran out, and the old claim can no longer finish it', () => {
    // Prepare
    const abandoned = claimed(newTask(), claimRequest());
    const takeover = claimRequest({ claimId: 'claim-2', workerId: 'aws-1', now: 1_500 });

    // Act
    const task = claimed(abandoned, takeover);
    const lateFinish = applyFinish(task, finishRequest({ claimId: 'claim-1', now: 1_600 }));

    // Assess
    expect(task.attempts).toEqual([
      { attempt: 1, target: 'aws', workerId: 'aws-1', claimId: 'claim-2', startedAt: 1_500 },
    ]);
    expect(task.leaseExpiresAt).toBe(2_000);
    expect(lateFinish).toBeUndefined();
  });
});

describe('applyFinish', () => {
  it('lets the holder of the claim finish its try once, and refuses the second finish', () => {
    // Prepare
    const task = claimed(newTask(), claimRequest());

    // Act
    const done = applyFinish(task, finishRequest({ bytesOut: 40, workerId: 'aws-3' }));
    const again = done && applyFinish(done, finishRequest({ now: 1_300 }));

    // Assess
    expect(done).toMatchObject({ state: 'completed', bytesOut: 40, updatedAt: 1_200 });
    expect(done).not.toHaveProperty('leaseExpiresAt');
    expect(done?.attempts).toEqual([
      {
        attempt: 1,
        target: 'aws',
        workerId: 'aws-3',
        claimId: 'claim-1',
        startedAt: 1_000,
        endedAt: 1_200,
        outcome: 'completed',
      },
    ]);
    expect(again).toBeUndefined();
  });

  it('records the error of a try that failed for good on the task', () => {
    // Prepare
    const task = claimed(newTask(), claimRequest());
    const error = { name: 'PoisonChunkError', message: 'chunk 3 is poisoned', retryable: false };

    // Act
    const failed = applyFinish(task, finishRequest({ outcome: 'failed', error }));

    // Assess
    expect(failed?.state).toBe('failed');
    expect(failed?.error).toEqual(error);
    expect(failed?.attempts[0]?.error).toEqual(error);
  });

  it('refuses a finish by a claim that does not hold the task', () => {
    // Prepare
    const task = claimed(newTask(), claimRequest());

    // Act
    const result = applyFinish(task, finishRequest({ claimId: 'someone-else' }));

    // Assess
    expect(result).toBeUndefined();
  });

  it('refuses to finish a task that is not processing', () => {
    // Prepare
    const task = newTask();

    // Act
    const result = applyFinish(task, finishRequest());

    // Assess
    expect(result).toBeUndefined();
  });

  it('throws on an outcome a processing task cannot move to', () => {
    // Prepare
    const task = claimed(newTask(), claimRequest());

    // Act
    const finish = () => applyFinish(task, finishRequest({ outcome: 'pending' as 'completed' }));

    // Assess
    expect(finish).toThrow(IllegalTransitionError);
    expect(finish).toThrow('a task cannot move from processing to pending');
  });
});

describe('task state transitions', () => {
  it.each<[TaskState, TaskState]>([
    ['pending', 'processing'],
    ['processing', 'completed'],
    ['processing', 'retrying'],
    ['processing', 'failed'],
    ['retrying', 'processing'],
  ])('allows %s -> %s', (from, to) => {
    // Prepare
    const transition = { from, to };

    // Act
    const allowed = canTransition(transition.from, transition.to);

    // Assess
    expect(allowed).toBe(true);
  });

  it.each<[TaskState, TaskState]>([
    ['pending', 'completed'],
    ['pending', 'failed'],
    ['pending', 'retrying'],
    ['processing', 'pending'],
    ['processing', 'processing'],
    ['retrying', 'completed'],
    ['retrying', 'failed'],
    ['completed', 'processing'],
    ['completed', 'failed'],
    ['failed', 'retrying'],
    ['failed', 'processing'],
  ])('forbids %s -> %s', (from, to) => {
    // Prepare
    const transition = { from, to };

    // Act
    const allowed = canTransition(transition.from, transition.to);

    // Assess
    expect(allowed).toBe(false);
  });

  it('treats completed and failed as final, and no other state', () => {
    // Prepare
    const states: TaskState[] = ['pending', 'processing', 'retrying', 'completed', 'failed'];

    // Act
    const finals = states.filter(isFinal);

    // Assess
    expect(finals).toEqual(['completed', 'failed']);
  });
});
