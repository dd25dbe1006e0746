import { FanoutError } from '../core/errors.ts';
import type { ResultRef } from '../core/task.ts';

/** A result store has no output at a ref it handed out: deleted, expired, or never written. */
export class MissingResultError extends FanoutError {
  constructor(jobId: string, ref: ResultRef, options?: ErrorOptions) {
    super(`job ${jobId} has no output at ${ref}`, options);
    this.name = 'MissingResultError';
  }
}

/**
 * No target of a job could take its chunks: every breaker among them is open, or every queue refused the
 * send. `jobId` names the job when it had been recorded before that was known; it is then marked failed.
 */
export class NoTargetAvailableError extends FanoutError {
  readonly targets: readonly string[];
  /** When one of the targets may take work again, from now. */
  readonly retryAfterMs: number;
  readonly jobId: string | undefined;

  constructor(
    targets: readonly string[],
    retryAfterMs: number,
    options: ErrorOptions & { jobId?: string } = {},
  ) {
    super(`no target of ${targets.join(', ')} can take chunks now`, options);
    this.name = 'NoTargetAvailableError';
    this.targets = targets;
    this.retryAfterMs = retryAfterMs;
    this.jobId = options.jobId;
  }
}
