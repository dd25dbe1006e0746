import { TaskState } from '../core/constants.ts';
import type { TaskRecord } from '../core/task.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { Admission } from './admission.ts';
import type { JobRun } from './job-run.ts';
import type { TaskMessage } from './messages.ts';

export interface RerunParts {
  tasks: TaskStore;
  admission: Admission;
  send(job: JobRun, message: TaskMessage, avoid: string | undefined, delayMs: number): Promise<void>;
}

/**
 * Re-opens a job's failed tasks (each with a fresh attempt budget, see `applyReopen`) and counts them as
 * waiting again; resolves with the tasks re-opened and `sent`, which settles once each has been put back
 * into the arena and routed (that may wait for room, as ingest does).
 */
export const reopenFailed = async (
  job: JobRun,
  parts: RerunParts,
): Promise<{ reopened: TaskRecord[]; sent: Promise<void> }> => {
  const now = Date.now();
  const reopened: TaskRecord[] = [];
  for (const failed of await parts.tasks.listTasks(job.jobId, TaskState.failed)) {
    if (!job.deadLetters.has(failed.index)) continue;
    const task = await parts.tasks.reopenTask(job.jobId, failed.index, now);
    if (task === undefined) continue;
    job.stats.taskReopened(task.attempts.length);
    job.taskReopened();
    reopened.push(task);
  }
  return { reopened, sent: sendAgain(job, reopened, parts) };
};

const sendAgain = async (job: JobRun, tasks: readonly TaskRecord[], parts: RerunParts): Promise<void> => {
  for (const task of tasks) {
    const chunk = job.deadLetters.get(task.index) as Uint8Array;
    const data = await parts.admission.admit(chunk);
    if (data === undefined) return;
    job.deadLetters.delete(task.index);
    const tries = task.attempts.length;
    const previousTarget = task.attempts.at(-1)?.target;
    await parts.send(
      job,
      {
        jobId: job.jobId,
        index: task.index,
        attempt: tries + 1,
        rerunFrom: tries,
        sha256: task.sha256,
        bytes: task.bytes,
        data,
        routedAt: 0,
        ...(previousTarget !== undefined && { previousTarget }),
      },
      undefined,
      0,
    );
  }
};
