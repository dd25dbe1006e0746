import { TaskState } from '../constants.ts';
import type { TaskRecord } from '../task.ts';
import type { StatsCollector } from './stats.ts';

/**
 * Feeds one task's recorded history to `stats` as the transitions that made it: created, each try
 * started and ended, a failure re-opened by a re-run, a cancel. A try that was running when its process
 * died (the task is still `processing`) is counted as waiting: the process that takes it over starts
 * it again, and counts that start.
 */
export const replayTask = (stats: StatsCollector, task: TaskRecord): void => {
  stats.taskCreated(task.bytes);
  const abandoned = task.state === TaskState.processing ? task.attempts.at(-1) : undefined;
  task.attempts.forEach((attempt, i) => {
    if (attempt === abandoned) return;
    stats.attemptStarted(attempt.target, attempt.attempt, task.attempts[i - 1]?.target, attempt.startedAt);
    const outcome = attempt.outcome ?? TaskState.retrying;
    const endedAt = attempt.endedAt ?? attempt.startedAt;
    stats.attemptEnded({
      target: attempt.target,
      attempt: attempt.attempt,
      outcome,
      startedAt: attempt.startedAt,
      endedAt,
      durationMs: attempt.durationMs ?? endedAt - attempt.startedAt,
      bytesIn: task.bytes,
      ...(outcome === TaskState.completed && task.bytesOut !== undefined && { bytesOut: task.bytesOut }),
      ...(attempt.error !== undefined && { retryable: attempt.error.retryable }),
    });
    // A try that failed for good, with tries after it or a task that no longer failed, was re-opened by a re-run.
    const reopened = i < task.attempts.length - 1 || task.state !== TaskState.failed;
    if (outcome === TaskState.failed && reopened) stats.taskReopened(i + 1);
  });
  if (task.state === TaskState.cancelled)
    stats.taskCancelled(task.attempts.length === 0 ? TaskState.pending : TaskState.retrying);
};
