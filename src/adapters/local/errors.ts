import { FanoutError } from '../../core/errors.ts';

export class MissingResultError extends FanoutError {
  constructor(jobId: string, index: number, options?: ErrorOptions) {
    super(`job ${jobId} has no result for chunk ${index}`, options);
    this.name = 'MissingResultError';
  }
}
