import { describe, expect, it } from 'vitest';
import { TaskState } from '../../src/core/constants.ts';
import { RetryPolicy } from '../../src/core/retry.ts';
import {
  healthOf,
  nextTry,
  type RunOutcome,
  recordedFollowUp,
  settle,
  type TryMessage,
} from '../../src/core/settlement.ts';
import type { Attempt, TaskRecord } from '../../src/core/task.ts';

const transient = { name: 'TransientError', message: 'flaky', retryable: true };
const poisoned = { name: 'PoisonChunkError', message: 'bad chunk', retryable: false };

const completed: RunOutcome = { ok: true };
const failedRetryably: RunOutcome = { ok: false, error: transient };
const failedForGood: RunOutcome = { ok: false, error: poisoned };

/** Three tries in all; the backoff is half its ceiling (100 ms, then 200 ms). */
const policy = (redistribute = true) =>
  new RetryPolicy({ maxAttempts: 3, baseDelayMs: 100, factor: 2, redistribute }, () => 0.5);

const endedAttempt = (attempt: number, outcome: NonNullable<Attempt['outcome']>): Attempt => ({
  attempt,
  target: 'aws',
  workerId: 'aws-0',
  claimId: `claim-${attempt}`,
  startedAt: 1_000,
  endedAt: 1_100,
  outcome,
});

const taskAfter = (state: TaskState, attempts: Attempt[]): TaskRecord => ({
  jobId: 'job-1',
  index: 7,
  state,
  bytes: 10,
  sha256: 'ab'.repeat(32),
  attempts,
  updatedAt: 1_100,
});

describe('healthOf', () => {
  it('counts a completion as a success, a retryable failure as a failure and a permanent one as neutral', () => {
    // Prepare
    const runs = [completed, failedRetryably, failedForGood];

    // Act
    const outcomes = runs.map(healthOf);

    // Assess
    expect(outcomes).toEqual(['success', 'failure', 'neutral']);
  });
});

describe('settle', () => {
  it('completes a try that ran to the end, with nothing to follow', () => {
    // Act
    const settlement = settle(completed, { attempt: 1 }, policy(), 'aws');

    // Assess
    expect(settlement).toEqual({ state: TaskState.completed, followUp: { kind: 'none' } });
  });

  it('retries a retryable failure with attempts left, after the backoff, away from the target that failed', () => {
    // Act
    const first = settle(failedRetryably, { attempt: 1 }, policy(), 'aws');
    const second = settle(failedRetryably, { attempt: 2 }, policy(), 'gcp');

    // Assess
    expect(first).toEqual({
      state: TaskState.retrying,
      error: transient,
      followUp: { kind: 'retry', delayMs: 50, avoid: 'aws' },
    });
    expect(second.followUp).toEqual({ kind: 'retry', delayMs: 100, avoid: 'gcp' });
  });

  it('retries on any target when the policy does not redistribute', () => {
    // Act
    const settlement = settle(failedRetryably, { attempt: 1 }, policy(false), 'aws');

    // Assess
    expect(settlement.state).toBe(TaskState.retrying);
    expect(settlement.followUp).toEqual({ kind: 'retry', delayMs: 50 });
    expect(settlement.followUp).not.toHaveProperty('avoid');
  });

  it('counts the tries of a re-run from where it re-ran: a fresh budget', () => {
    // Act
    const fresh = settle(failedRetryably, { attempt: 4, rerunFrom: 3 }, policy(), 'aws');
    const spent = settle(failedRetryably, { attempt: 6, rerunFrom: 3 }, policy(), 'aws');

    // Assess
    expect(fresh.state).toBe(TaskState.retrying);
    expect(spent.state).toBe(TaskState.failed);
  });

  it('fails and dead-letters a retryable failure on the last try', () => {
    // Act
    const settlement = settle(failedRetryably, { attempt: 3 }, policy(), 'aws');

    // Assess
    expect(settlement).toEqual({
      state: TaskState.failed,
      error: transient,
      followUp: { kind: 'dead-letter' },
    });
  });

  it('fails and dead-letters a permanent failure on the first try, whatever tries are left', () => {
    // Act
    const redistributing = settle(failedForGood, { attempt: 1 }, policy(), 'aws');
    const staying = settle(failedForGood, { attempt: 1 }, policy(false), 'aws');

    // Assess
    const expected = { state: TaskState.failed, error: poisoned, followUp: { kind: 'dead-letter' } };
    expect(redistributing).toEqual(expected);
    expect(staying).toEqual(expected);
  });
});

describe('nextTry', () => {
  it('makes the following try of the message, naming the target that failed, and leaves the message as it was', () => {
    // Prepare
    const message: TryMessage & { data: string } = {
      jobId: 'job-1',
      index: 7,
      attempt: 2,
      previousTarget: 'gcp',
      routedAt: 1_000,
      sha256: 'ab'.repeat(32),
      bytes: 10,
      data: 'kept',
    };
    const before = structuredClone(message);

    // Act
    const next = nextTry(message, 'aws');

    // Assess
    expect(next).toEqual({ ...before, attempt: 3, previousTarget: 'aws' });
    expect(message).toEqual(before);
  });
});

describe('recordedFollowUp', () => {
  it('resends at once the retry of a try recorded as retrying, away from its target when redistributing', () => {
    // Prepare
    const task = taskAfter(TaskState.retrying, [endedAttempt(1, TaskState.retrying)]);

    // Act
    const redistributing = recordedFollowUp(task, 1, policy(), 'aws');
    const staying = recordedFollowUp(task, 1, policy(false), 'aws');

    // Assess
    expect(redistributing).toEqual({ kind: 'retry', delayMs: 0, avoid: 'aws' });
    expect(staying).toEqual({ kind: 'retry', delayMs: 0 });
  });

  it('resends the dead letter of a try recorded as failed', () => {
    // Prepare
    const task = taskAfter(TaskState.failed, [
      endedAttempt(1, TaskState.retrying),
      endedAttempt(2, TaskState.failed),
    ]);

    // Act
    const followUp = recordedFollowUp(task, 2, policy(), 'aws');

    // Assess
    expect(followUp).toEqual({ kind: 'dead-letter' });
  });

  it('sends nothing for a try recorded as completed, or still processing', () => {
    // Prepare
    const done = taskAfter(TaskState.completed, [endedAttempt(1, TaskState.completed)]);
    const running = taskAfter(TaskState.processing, [
      { attempt: 1, target: 'aws', workerId: 'aws-0', claimId: 'claim-1', startedAt: 1_000 },
    ]);

    // Act
    const afterCompletion = recordedFollowUp(done, 1, policy(), 'aws');
    const whileRunning = recordedFollowUp(running, 1, policy(), 'aws');

    // Assess
    expect(afterCompletion).toEqual({ kind: 'none' });
    expect(whileRunning).toEqual({ kind: 'none' });
  });

  it('sends nothing when the task is not recorded, or its last try is not the one redelivered', () => {
    // Prepare
    const retryingAfterOne = taskAfter(TaskState.retrying, [endedAttempt(1, TaskState.retrying)]);
    const failedAfterTwo = taskAfter(TaskState.failed, [
      endedAttempt(1, TaskState.retrying),
      endedAttempt(2, TaskState.failed),
    ]);
    const pending = taskAfter(TaskState.pending, []);

    // Act
    const followUps = [
      recordedFollowUp(undefined, 1, policy(), 'aws'),
      // An older try than the last one: its follow-up has been taken already.
      recordedFollowUp(failedAfterTwo, 1, policy(), 'aws'),
      // A later try than the last one recorded: nothing of it has ended.
      recordedFollowUp(retryingAfterOne, 2, policy(), 'aws'),
      recordedFollowUp(pending, 1, policy(), 'aws'),
    ];

    // Assess
    expect(followUps).toEqual(Array(4).fill({ kind: 'none' }));
  });
});
