import { setTimeout as sleep } from 'node:timers/promises';
import type { FileInputSpool } from '../adapters/local/file-input-spool.ts';
import { chunkStream } from '../core/chunker.ts';
import { TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import { isFinal, type TaskRecord, type WaitedTry, waitedTry } from '../core/task.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { Admission } from './admission.ts';
import { InputChangedError } from './errors.ts';
import type { JobRun } from './job-run.ts';
import type { TaskMessage } from './messages.ts';

/** What puts a job's chunks on the targets' queues: the task store, the arena and the router. */
export interface FeedParts {
  tasks: TaskStore;
  admission: Admission;
  send(job: JobRun, message: TaskMessage, avoid: string | undefined, delayMs: number): Promise<void>;
  /**
   * Each job's input, kept on disk by a durable engine: what a re-run reads its failed chunks from. An
   * engine without one keeps a copy of each chunk that fails for good instead (`JobRun.deadLetters`).
   */
  spool?: FileInputSpool;
}

/** What ingest needs of a task an earlier process recorded: its chunk's digest, and the try it waits for. */
export type RecordedTask = Pick<TaskRecord, 'state' | 'sha256' | 'attempts' | 'rerunFrom'>;

/** A recorded task as ingest keeps it: a task that ended without its history, which ingest does not need. */
export const recordedTask = ({ state, sha256, attempts, rerunFrom }: TaskRecord): RecordedTask =>
  isFinal(state)
    ? { state, sha256, attempts: [] }
    : { state, sha256, attempts, ...(rerunFrom !== undefined && { rerunFrom }) };

/**
 * Reads a job's input into the arena as the engine has room, records each chunk's task and routes its
 * first try; resolves with the chunk count. A cancelled job reads no more: its total is what was enqueued.
 *
 * `recorded` holds the tasks an earlier process recorded (when a durable engine takes a job up again):
 * a chunk whose task ended is skipped, one whose task waits or was running gets the try it waits for
 * (`waitedTry`), and only chunks without a task are recorded anew. Ingest records tasks in index order,
 * so the recorded ones are the first.
 */
export const ingest = async (
  job: JobRun,
  input: AsyncIterable<Uint8Array>,
  parts: FeedParts,
  recorded: ReadonlyMap<number, RecordedTask> = new Map(),
): Promise<number> => {
  const known = job.total;
  let total = 0;
  for await (const chunk of chunkStream(input, job.jobId, job.request.chunking)) {
    const task = recorded.get(chunk.index);
    if (task === undefined && job.cancelledAt !== undefined) break;
    // A chunk other than its task recorded, or one past the total recorded: the kept input changed.
    const changed = task === undefined ? known !== undefined : task.sha256 !== chunk.sha256;
    if (changed) throw new InputChangedError(job.jobId, chunk.index);
    const next = task === undefined ? { attempt: 1 } : waitedTry(task);
    total++;
    if (known === undefined) job.enqueued(chunk.bytes);
    if (next === undefined) continue;
    const data = await parts.admission.admit(chunk.data);
    if (data === undefined) throw new UsageError('the engine shut down before the input was read');
    if (task === undefined) {
      await patiently(() => parts.tasks.putTasks([newTask(job.jobId, chunk)]));
      job.stats.taskCreated(chunk.bytes);
    }
    await route(job, chunk, data, next, parts);
  }
  if (known !== undefined && total !== known && job.cancelledAt === undefined)
    throw new InputChangedError(job.jobId, total);
  if (known === undefined) {
    await patiently(() => parts.tasks.setJobTotal(job.jobId, total));
    job.ingested(total);
  }
  return total;
};

/** Waits between tries of a write ingest cannot go on without: up to 2.5 minutes in all. */
const PATIENCE_MS = [250, 500, 1000, 2000, 4000, 8000, 15_000, 30_000, 30_000, 60_000];

/**
 * A write that a store may refuse for a while (a full disk) is tried again, so that the job waits for room
 * instead of failing as a whole; the last refusal is thrown.
 */
const patiently = async <T>(write: () => Promise<T>): Promise<T> => {
  for (const waitMs of PATIENCE_MS) {
    try {
      return await write();
    } catch {
      await sleep(waitMs);
    }
  }
  return write();
};

/** What a try's message takes from its chunk, cut or recorded. */
type ChunkFacts = Pick<TaskRecord, 'index' | 'bytes' | 'sha256' | 'firstLine'>;

const newTask = (jobId: string, { index, bytes, sha256, firstLine }: ChunkFacts): TaskRecord => ({
  jobId,
  index,
  state: TaskState.pending,
  bytes,
  sha256,
  ...(firstLine !== undefined && { firstLine }),
  attempts: [],
  updatedAt: Date.now(),
});

/**
 * Re-opens a job's failed tasks (each with a fresh attempt budget, see `applyReopen`) and counts them as
 * waiting again; resolves with the tasks re-opened and `sent`, which settles once each has been put back
 * into the arena and routed (that may wait for room, as ingest does). Their chunks come from the job's
 * kept input, or from the copies kept when they failed.
 */
export const reopenFailed = async (
  job: JobRun,
  parts: FeedParts,
): Promise<{ reopened: TaskRecord[]; sent: Promise<void> }> => {
  const now = Date.now();
  const reopened: TaskRecord[] = [];
  const kept = parts.spool !== undefined && (await parts.spool.has(job.jobId));
  for (const failed of await parts.tasks.listTasks(job.jobId, TaskState.failed)) {
    if (!kept && !job.deadLetters.has(failed.index)) continue;
    const task = await parts.tasks.reopenTask(job.jobId, failed.index, now);
    if (task === undefined) continue;
    job.stats.taskReopened(task.attempts.length);
    job.taskReopened();
    reopened.push(task);
  }
  const sent = kept ? sendKept(job, reopened, parts) : sendCopies(job, reopened, parts);
  return { reopened, sent };
};

/** Reads the kept input again and sends the re-opened chunks, and only those. */
const sendKept = async (job: JobRun, tasks: readonly TaskRecord[], parts: FeedParts): Promise<void> => {
  const waiting = new Map(tasks.map((task) => [task.index, task]));
  const input = (parts.spool as FileInputSpool).read(job.jobId);
  for await (const chunk of chunkStream(input, job.jobId, job.request.chunking)) {
    if (waiting.size === 0) return;
    const task = waiting.get(chunk.index);
    if (task === undefined) continue;
    if (task.sha256 !== chunk.sha256) throw new InputChangedError(job.jobId, chunk.index);
    waiting.delete(chunk.index);
    if (!(await sendTry(job, task, chunk.data, parts))) return;
  }
};

const sendCopies = async (job: JobRun, tasks: readonly TaskRecord[], parts: FeedParts): Promise<void> => {
  for (const task of tasks) {
    if (!(await sendTry(job, task, job.deadLetters.get(task.index) as Uint8Array, parts))) return;
    job.deadLetters.delete(task.index);
  }
};

/** Puts a chunk into the arena and routes the try its task waits for; false once the engine shut down. */
const sendTry = async (
  job: JobRun,
  task: TaskRecord,
  chunk: Uint8Array,
  parts: FeedParts,
): Promise<boolean> => {
  const data = await parts.admission.admit(chunk);
  if (data === undefined) return false;
  await route(job, task, data, waitedTry(task) as WaitedTry, parts);
  return true;
};

/** Routes try `next` of a chunk, which lies in the arena at `data`. */
const route = (
  job: JobRun,
  { index, sha256, bytes, firstLine }: ChunkFacts,
  data: Uint8Array,
  next: WaitedTry,
  parts: FeedParts,
): Promise<void> =>
  parts.send(
    job,
    {
      jobId: job.jobId,
      index,
      sha256,
      bytes,
      ...(firstLine !== undefined && { firstLine }),
      data,
      routedAt: 0,
      ...next,
    },
    undefined,
    0,
  );
