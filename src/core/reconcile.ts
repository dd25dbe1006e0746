import { type BreakerSnapshot, BreakerState } from './breaker.ts';
import { TaskState } from './constants.ts';
import { isFinal, type TaskRecord } from './task.ts';

/** When the reconciler acts: the settings `reconcile.*`. */
export interface ReconcileOptions {
  /** How often it runs where a timer runs it (emulator mode). @default 60000 */
  intervalMs: number;
  /**
   * How long a try may stay unclaimed after it was due (sent, its retry delay over, or its lease run out)
   * before it is sent again: five visibility timeouts of a processor with the default 60 s timeout.
   * @default 1800000
   */
  strandedAfterMs: number;
  /** How long a target's breaker stays open before the tries that may wait on it are sent elsewhere. @default 60000 */
  breakerOpenMs: number;
  /** How long an ingest may go without moving its checkpoint before its job is failed. @default 600000 */
  ingestStalledMs: number;
}

export const DEFAULT_RECONCILE: ReconcileOptions = {
  intervalMs: 60_000,
  strandedAfterMs: 30 * 60_000,
  breakerOpenMs: 60_000,
  ingestStalledMs: 10 * 60_000,
};

/** What a job's record tells of its ingest. */
export interface IngestFacts {
  createdAt: number;
  chunksTotal?: number;
  failed?: { reason: string; at: number };
  ingest?: { source: string; offset: number; chunks: number; updatedAt: number };
}

export type IngestState =
  | { kind: 'ingested'; total: number }
  | { kind: 'failed' }
  | { kind: 'ingesting' }
  | { kind: 'died'; reason: string };

/**
 * How far a job's ingest got: done (its total is known), failed as a whole, still going, or dead: no
 * checkpoint moved (or, with none, the job was created) `stalledMs` ago, and the reason says where it
 * stopped.
 */
export const ingestState = (job: IngestFacts, now: number, stalledMs: number): IngestState => {
  if (job.chunksTotal !== undefined) return { kind: 'ingested', total: job.chunksTotal };
  if (job.failed !== undefined) return { kind: 'failed' };
  const { ingest } = job;
  const quietMs = now - (ingest?.updatedAt ?? job.createdAt);
  if (quietMs < stalledMs) return { kind: 'ingesting' };
  const quiet = `no progress for ${Math.round(quietMs / 1000)} s`;
  return {
    kind: 'died',
    reason:
      ingest === undefined
        ? `its ingest stopped before its first checkpoint: ${quiet}`
        : `its ingest stopped after ${ingest.chunks} chunks (${ingest.offset} bytes of ${ingest.source} read): ${quiet}`,
  };
};

/**
 * The targets whose breaker has stayed open (or half-open, its probes failing) for `breakerOpenMs`: what
 * waits on them is sent elsewhere at once. A snapshot stored before `downSince` existed counts from its
 * last opening.
 */
export const downTargets = (
  breakers: ReadonlyMap<string, BreakerSnapshot>,
  now: number,
  breakerOpenMs: number,
): string[] =>
  [...breakers]
    .filter(([, b]) => b.state !== BreakerState.closed && now - (b.downSince ?? b.openedAt) >= breakerOpenMs)
    .map(([name]) => name);

/** Why a try is sent again. */
export type StrandedReason = 'unclaimed' | 'retry-lost' | 'lease-expired';

/** A try to send again: the reconciler's finding for one chunk. */
export interface StrandedTry {
  index: number;
  attempt: number;
  /** The target of the try before it, as a retry carries it. */
  previousTarget?: string;
  /** The task's tries before its re-run, when it was re-run: the message carries them on. */
  rerunFrom?: number;
  reason: StrandedReason;
}

/** How long a try may wait past being due, given the job's targets and those down. */
export interface StrandedDeadline {
  afterMs: number;
  /** The longest retry delay: a retrying task is due no later than this after its try ended. */
  maxDelayMs: number;
  /** Targets down for `breakerOpenMs`: a try they hold is due again as soon as its lease runs out. */
  down: readonly string[];
}

/**
 * The try of chunk `index` that nothing has claimed within the deadline, if any: try 1 of a chunk with no
 * task (sent at `sentAt`), the next try of a task retrying after its longest delay, or the current try of a
 * task whose lease ran out (at once when its target is down). Tasks that ended wait for nothing.
 */
export const strandedTry = (
  index: number,
  sentAt: number,
  task: TaskRecord | undefined,
  now: number,
  deadline: StrandedDeadline,
): StrandedTry | undefined => {
  const overdue = (due: number, afterMs = deadline.afterMs) => now - due >= afterMs;
  if (task === undefined || task.state === TaskState.pending)
    return overdue(Math.max(sentAt, task?.updatedAt ?? 0))
      ? { index, attempt: 1, reason: 'unclaimed' }
      : undefined;
  const last = task.attempts.at(-1);
  const rerun = task.rerunFrom === undefined ? {} : { rerunFrom: task.rerunFrom };
  if (task.state === TaskState.retrying && last !== undefined) {
    // A re-run re-opens a task long after its last try ended: it is due from the re-run on.
    const due = Math.max(last.endedAt ?? 0, task.updatedAt) + deadline.maxDelayMs;
    if (!overdue(due)) return undefined;
    return { index, attempt: last.attempt + 1, previousTarget: last.target, ...rerun, reason: 'retry-lost' };
  }
  if (task.state === TaskState.processing && last !== undefined) {
    const afterMs = deadline.down.includes(last.target) ? 0 : deadline.afterMs;
    if (!overdue(task.leaseExpiresAt ?? task.updatedAt, afterMs)) return undefined;
    const before = task.attempts.at(-2)?.target;
    return {
      index,
      attempt: last.attempt,
      ...(before !== undefined && { previousTarget: before }),
      ...rerun,
      reason: 'lease-expired',
    };
  }
  return undefined;
};

/** Whether every one of a job's `total` chunks has a task that ended: nothing of it can be waiting. */
export const allEnded = (tasks: readonly TaskRecord[], total: number): boolean =>
  tasks.filter((task) => isFinal(task.state)).length >= total;
