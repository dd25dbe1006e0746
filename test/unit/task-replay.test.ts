import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskState } from '../../src/core/constants.ts';
import { StatsCollector } from '../../src/core/stats/stats.ts';
import { replayTask } from '../../src/core/stats/task-replay.ts';
import {
  applyCancel,
  applyClaim,
  applyFinish,
  applyReopen,
  type TaskRecord,
  waitedTry,
} from '../../src/core/task.ts';

const SHA = 'a'.repeat(64);
const TARGETS = ['aws', 'gcp'] as const;
type Op = 'complete' | 'retry' | 'fail' | 'cancel' | 'reopen' | 'crash';

const pending = (): TaskRecord => ({
  jobId: 'j',
  index: 0,
  state: TaskState.pending,
  bytes: 10,
  sha256: SHA,
  attempts: [],
  updatedAt: 0,
});

/**
 * Drives one task through `ops` with the core's rules, counting each transition in a live collector as
 * the engine does; a crash leaves a try running, and the next try is a take-over of it (a restart).
 */
const drive = (ops: readonly Op[]) => {
  const live = new StatsCollector();
  live.taskCreated(10);
  let task = pending();
  let now = 1;
  let running: { attempt: number; claimId: string; target: string } | undefined;
  const claim = (): void => {
    const next = waitedTry(task);
    if (next === undefined) return;
    const target = TARGETS[next.attempt % 2] as string;
    now += 10;
    const claimId = `c${now}`;
    const result = applyClaim(task, {
      jobId: 'j',
      index: 0,
      attempt: next.attempt,
      target,
      workerId: target,
      claimId,
      now,
      leaseMs: 0,
      bytes: 10,
      sha256: SHA,
    });
    if (!result.claimed) return;
    task = result.task;
    // A take-over started the same try again: the engine's `taken` hook counts it once more.
    if (running === undefined || running.attempt !== next.attempt)
      live.attemptStarted(target, next.attempt, next.previousTarget, now);
    running = { attempt: next.attempt, claimId, target };
  };
  for (const op of ops) {
    if (op === 'cancel') {
      if (running !== undefined) continue;
      const next = waitedTry(task);
      const cancelled =
        next &&
        applyCancel(task, { jobId: 'j', index: 0, attempt: next.attempt, now, bytes: 10, sha256: SHA });
      if (cancelled === undefined) continue;
      live.taskCancelled(task.state === TaskState.pending ? TaskState.pending : TaskState.retrying);
      task = cancelled;
    } else if (op === 'reopen') {
      const reopened = applyReopen(task, now);
      if (reopened === undefined) continue;
      live.taskReopened(task.attempts.length);
      task = reopened;
    } else {
      claim();
      if (running === undefined || op === 'crash') continue;
      const outcome =
        op === 'complete' ? TaskState.completed : op === 'fail' ? TaskState.failed : TaskState.retrying;
      const error = op === 'complete' ? undefined : { name: 'E', message: 'no', retryable: op === 'retry' };
      now += 5;
      const finished = applyFinish(task, {
        jobId: 'j',
        index: 0,
        attempt: running.attempt,
        claimId: running.claimId,
        outcome,
        now,
        durationMs: 3,
        ...(error && { error }),
        ...(outcome === TaskState.completed && { bytesOut: 4 }),
      });
      if (finished === undefined) continue;
      task = finished;
      live.attemptEnded({
        target: running.target,
        attempt: running.attempt,
        outcome,
        startedAt: now - 5,
        endedAt: now,
        durationMs: 3,
        bytesIn: 10,
        ...(outcome === TaskState.completed && { bytesOut: 4 }),
        ...(error && { retryable: error.retryable }),
      });
      running = undefined;
    }
  }
  return { task, live, running };
};

const replayed = (task: TaskRecord) => {
  const stats = new StatsCollector();
  replayTask(stats, task);
  return stats;
};

describe('replayTask', () => {
  it('counts a task from its record as a live collector counted its transitions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<Op>('complete', 'retry', 'fail', 'cancel', 'reopen', 'crash'), {
          maxLength: 12,
        }),
        (ops) => {
          // Act
          const { task, live, running } = drive(ops);
          const fromRecord = replayed(task);
          // A try left running is counted as waiting by the replay, and started again by its take-over.
          if (running !== undefined) {
            const last = task.attempts.at(-1);
            fromRecord.attemptStarted(
              running.target,
              running.attempt,
              task.attempts.at(-2)?.target,
              last?.startedAt ?? 0,
            );
          }

          // Assess
          const { durations: _a, targets: liveTargets, firstAt, ...liveCounts } = live.snapshot();
          const {
            durations: _b,
            targets: replayTargets,
            firstAt: replayFirstAt,
            ...replayCounts
          } = fromRecord.snapshot();
          expect(replayCounts).toEqual(liveCounts);
          // A take-over rewrites its try's start: the record no longer holds the start of the try it replaced.
          if (!ops.includes('crash')) expect(replayFirstAt).toBe(firstAt);
          for (const [name, target] of Object.entries(liveTargets)) {
            const { durations: _c, ...counts } = target;
            expect(replayTargets[name]).toMatchObject(counts);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('counts a task that was running when its process died as waiting for the try it ran', () => {
    // Prepare
    const { task } = drive(['retry', 'crash']);

    // Act
    const stats = replayed(task).snapshot();

    // Assess
    expect(task.state).toBe(TaskState.processing);
    expect(stats.states).toMatchObject({ processing: 0, retrying: 1 });
    expect(stats.attempts).toBe(1);
  });
});

describe('waitedTry', () => {
  it('names the try a waiting task waits for, with its previous target and re-run base', () => {
    // Prepare
    const { task } = drive(['fail', 'reopen']);

    // Act
    const next = waitedTry(task);

    // Assess
    expect(next).toEqual({ attempt: 2, previousTarget: 'gcp', rerunFrom: 1 });
  });

  it('names the running try of a processing task, and nothing for a task that ended', () => {
    // Prepare
    const running = drive(['retry', 'crash']).task;
    const ended = drive(['complete']).task;

    // Act
    const verdicts = [waitedTry(running), waitedTry(ended), waitedTry(pending())];

    // Assess
    expect(verdicts).toEqual([{ attempt: 2, previousTarget: 'gcp' }, undefined, { attempt: 1 }]);
  });
});
