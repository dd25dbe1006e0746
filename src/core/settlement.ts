import type { Outcome } from './balancer.ts';
import { TaskState } from './constants.ts';
import type { ErrorRecord } from './errors.ts';
import type { RetryPolicy } from './retry.ts';
import { budgetAttempt, type FinishRequest, type TaskRecord } from './task.ts';

/**
 * One try of one chunk as every runtime's message describes it: the embedded engine's queue message and
 * a cloud queue's message both carry at least this.
 */
export interface TryMessage {
  jobId: string;
  index: number;
  attempt: number;
  /** The target that ran the previous try, when this is a retry. */
  previousTarget?: string;
  /** On a re-run of a chunk that had failed for good: its tries before, which its attempt budget starts after. */
  rerunFrom?: number;
  /** When the balancer chose the target for this try, ms since the epoch. */
  routedAt: number;
  sha256: string;
  bytes: number;
  /** In `lines` mode: the line of the job's input the chunk starts on, counted from 1. */
  firstLine?: number;
}

/** How a try's pipeline run ended. */
export type RunOutcome = { ok: true } | { ok: false; error: ErrorRecord };

/** What comes after a try has been recorded: a next try, a dead letter, or nothing. */
export type FollowUp =
  | {
      kind: 'retry';
      delayMs: number;
      /** The target that just failed: passed over whenever another one is healthy. */
      avoid?: string;
    }
  | { kind: 'dead-letter' }
  | { kind: 'none' };

/** Everything the end of a try decides, before any of it is written. */
export interface Settlement {
  state: NonNullable<FinishRequest['outcome']>;
  error?: ErrorRecord;
  followUp: FollowUp;
}

/**
 * What a try says of its target's health: a completion is a success, a retryable failure a failure; a
 * permanent failure is the chunk's fault and says nothing of the target.
 */
export const healthOf = (run: RunOutcome): Outcome =>
  run.ok ? 'success' : run.error.retryable ? 'failure' : 'neutral';

/**
 * The end of a try (`message`'s) on `target`: completed; or retrying with a backoff, on another target when the
 * policy redistributes; or failed for good and dead-lettered. The one place a retry or a dead letter is
 * decided, for every runtime.
 */
export const settle = (
  run: RunOutcome,
  message: Pick<TryMessage, 'attempt' | 'rerunFrom'>,
  policy: RetryPolicy,
  target: string,
): Settlement => {
  if (run.ok) return { state: TaskState.completed, followUp: { kind: 'none' } };
  const decision = policy.decide(run.error, budgetAttempt(message));
  if (!decision.retry)
    return { state: TaskState.failed, error: run.error, followUp: { kind: 'dead-letter' } };
  const followUp: FollowUp = {
    kind: 'retry',
    delayMs: decision.delayMs,
    ...(policy.options.redistribute && { avoid: target }),
  };
  return { state: TaskState.retrying, error: run.error, followUp };
};

/** The message of the try after `message`, which failed on `target`. */
export const nextTry = <M extends TryMessage>(message: M, target: string): M => ({
  ...message,
  attempt: message.attempt + 1,
  previousTarget: target,
});

/**
 * The follow-up of a try that was already recorded, for a redelivery that finds it ended: a function may
 * stop between recording a try and sending what follows it, so the redelivery sends it again (at once).
 * A second copy is harmless: only one delivery of a try can claim it, and a dead letter names a chunk
 * that failed.
 */
export const recordedFollowUp = (
  task: TaskRecord | undefined,
  attempt: number,
  policy: RetryPolicy,
  target: string,
): FollowUp => {
  if (task?.attempts.length !== attempt) return { kind: 'none' };
  if (task.state === TaskState.failed) return { kind: 'dead-letter' };
  if (task.state !== TaskState.retrying) return { kind: 'none' };
  return { kind: 'retry', delayMs: 0, ...(policy.options.redistribute && { avoid: target }) };
};
