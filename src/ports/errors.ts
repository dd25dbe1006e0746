import { FanoutError } from '../core/errors.ts';
import type { ResultRef } from '../core/task.ts';

/** A result store has no output at a ref it handed out: deleted, expired, or never written. */
export class MissingResultError extends FanoutError {
  constructor(jobId: string, ref: ResultRef, options?: ErrorOptions) {
    super(`job ${jobId} has no output at ${ref}`, options);
    this.name = 'MissingResultError';
  }
}
