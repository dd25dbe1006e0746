import { FanoutError, RetryableError } from '../core/errors.ts';
import type { ResultRef } from '../core/task.ts';

/** A result store has no output at a ref it handed out: deleted, expired, or never written. */
export class MissingResultError extends FanoutError {
  constructor(jobId: string, ref: ResultRef, options?: ErrorOptions) {
    super(`job ${jobId} has no output at ${ref}`, options);
    this.name = 'MissingResultError';
  }
}

/** No target of a job can take its chunks: every breaker among them is open. No job was recorded. */
export class NoTargetAvailableError extends FanoutError {
  readonly targets: readonly string[];
  /** When one of the targets may take work again, from now. */
  readonly retryAfterMs: number;

  constructor(targets: readonly string[], retryAfterMs: number, options?: ErrorOptions) {
    super(`no target of ${targets.join(', ')} can take chunks now`, options);
    this.name = 'NoTargetAvailableError';
    this.targets = targets;
    this.retryAfterMs = retryAfterMs;
  }
}

/** An operation on a job that its status does not allow now, such as a re-run of a job still running. */
export class JobConflictError extends FanoutError {
  readonly jobId: string;
  /** Names the conflict in a problem type: `job-running`, `job-cancelled`, `nothing-to-retry`, … */
  readonly slug: string;
  readonly jobStatus: string;

  constructor(jobId: string, slug: string, jobStatus: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JobConflictError';
    this.jobId = jobId;
    this.slug = slug;
    this.jobStatus = jobStatus;
  }
}

/**
 * A try's output could not be stored (a full disk, a store that did not answer): the try fails, retryably,
 * and its chunk is tried again like any chunk whose try failed; the target is not to blame.
 */
export class OutputNotStoredError extends RetryableError {
  constructor(cause: unknown) {
    super(`its output could not be stored: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'OutputNotStoredError';
  }
}
