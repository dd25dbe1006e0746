import { TaskState } from '../constants.ts';
import type { Attempt } from '../task.ts';
import { StatsCollector, type StatsData } from './stats.ts';

/** A try as a task store writes it; a store may also record how long the try ran. */
export interface AttemptImage extends Attempt {
  durationMs?: number;
}

/** The part of a stored task the stats are counted from: one side of a change to a task item. */
export interface TaskImage {
  state: TaskState;
  bytes: number;
  attempts: AttemptImage[];
  bytesOut?: number;
  updatedAt?: number;
}

const isEnd = (state: TaskState): state is NonNullable<Attempt['outcome']> =>
  state === TaskState.completed || state === TaskState.retrying || state === TaskState.failed;

const startTry = (stats: StatsCollector, task: TaskImage): void => {
  const started = task.attempts.at(-1);
  if (started === undefined) return;
  const previousTarget = task.attempts[started.attempt - 2]?.target;
  stats.attemptStarted(started.target, started.attempt, previousTarget, started.startedAt);
};

const endTry = (stats: StatsCollector, task: TaskImage, outcome: NonNullable<Attempt['outcome']>): void => {
  const ended = task.attempts.at(-1);
  if (ended === undefined) return;
  const endedAt = ended.endedAt ?? task.updatedAt ?? ended.startedAt;
  stats.attemptEnded({
    target: ended.target,
    attempt: ended.attempt,
    outcome: ended.outcome ?? outcome,
    startedAt: ended.startedAt,
    endedAt,
    durationMs: ended.durationMs ?? endedAt - ended.startedAt,
    bytesIn: task.bytes,
    ...(task.bytesOut !== undefined && { bytesOut: task.bytesOut }),
    ...(ended.error !== undefined && { retryable: ended.error.retryable }),
  });
};

/**
 * A task cancelled while it waited (created by the cancel when it had no item) or while its try was
 * abandoned (processing, its worker gone), or re-opened after failing.
 */
const waitingChange = (before: TaskImage | undefined, after: TaskImage): StatsData | undefined => {
  if (before?.state === after.state) return undefined;
  const stats = new StatsCollector();
  if (before === undefined) stats.taskCreated(after.bytes);
  if (after.state === TaskState.cancelled) {
    const from = before?.state;
    stats.taskCancelled(
      from === TaskState.retrying || from === TaskState.processing ? from : TaskState.pending,
    );
  } else stats.taskReopened(after.attempts.length);
  return stats.snapshot();
};

/**
 * What one change of a task item adds to the stats, counted by `StatsCollector` so that the counting
 * rules live in one place; undefined when the change counts nothing (a take-over of a try by another
 * worker, a removal by TTL, a rewrite that keeps the state). `before` is absent when the change created
 * the item, `after` when it removed it. A change may start a try (a claim), end one (a finish), or both
 * (a try recorded whole at its end: the task gained a try and is no longer processing), or change a task
 * that waits (a cancel) or failed (a re-run). Summing the
 * results of every change of a set of tasks gives exactly what one collector fed the same transitions
 * holds.
 */
export const taskTransitionStats = (before?: TaskImage, after?: TaskImage): StatsData | undefined => {
  if (after === undefined) return undefined;
  if (
    after.state === TaskState.cancelled ||
    (before?.state === TaskState.failed && after.state === TaskState.retrying)
  )
    return waitingChange(before, after);
  const startsTry =
    after.attempts.length > (before?.attempts.length ?? 0) &&
    (before === undefined || before.state === TaskState.pending || before.state === TaskState.retrying);
  const outcome = isEnd(after.state) ? after.state : undefined;
  const endsTry = outcome !== undefined && (startsTry || before?.state === TaskState.processing);
  const creates = before === undefined && (startsTry || after.state === TaskState.pending);
  if (!creates && !startsTry && !endsTry) return undefined;
  const stats = new StatsCollector();
  if (creates) stats.taskCreated(after.bytes);
  if (startsTry) startTry(stats, after);
  if (endsTry) endTry(stats, after, outcome);
  return stats.snapshot();
};
