import { chunkStream } from '../core/chunker.ts';
import { TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import type { TaskRecord } from '../core/task.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { Admission } from './admission.ts';
import type { JobRun } from './job-run.ts';
import type { TaskMessage } from './messages.ts';

/** What puts a job's chunks on the targets' queues: the task store, the arena and the router. */
export interface FeedParts {
  tasks: TaskStore;
  admission: Admission;
  send(job: JobRun, message: TaskMessage, avoid: string | undefined, delayMs: number): Promise<void>;
}

/**
 * Reads a job's input into the arena as the engine has room, records each chunk's task and routes its
 * first try; resolves with the chunk count. A cancelled job reads no more: its total is what was enqueued.
 */
export const ingest = async (
  job: JobRun,
  input: AsyncIterable<Uint8Array>,
  parts: FeedParts,
): Promise<number> => {
  let total = 0;
  for await (const chunk of chunkStream(input, job.jobId, job.request.chunking)) {
    if (job.cancelledAt !== undefined) break;
    const data = await parts.admission.admit(chunk.data);
    if (data === undefined) throw new UsageError('the engine shut down before the input was read');
    const task: TaskRecord = {
      jobId: job.jobId,
      index: chunk.index,
      state: TaskState.pending,
      bytes: chunk.bytes,
      sha256: chunk.sha256,
      attempts: [],
      updatedAt: Date.now(),
    };
    await parts.tasks.putTasks([task]);
    job.stats.taskCreated(chunk.bytes);
    const { index, sha256, bytes } = chunk;
    await parts.send(
      job,
      { jobId: job.jobId, index, attempt: 1, sha256, bytes, data, routedAt: 0 },
      undefined,
      0,
    );
    job.enqueued(chunk.bytes);
    total++;
  }
  await parts.tasks.setJobTotal(job.jobId, total);
  job.ingested(total);
  return total;
};

/**
 * Re-opens a job's failed tasks (each with a fresh attempt budget, see `applyReopen`) and counts them as
 * waiting again; resolves with the tasks re-opened and `sent`, which settles once each has been put back
 * into the arena and routed (that may wait for room, as ingest does).
 */
export const reopenFailed = async (
  job: JobRun,
  parts: FeedParts,
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

const sendAgain = async (job: JobRun, tasks: readonly TaskRecord[], parts: FeedParts): Promise<void> => {
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
