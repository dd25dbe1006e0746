import { FanoutError } from '../core/errors.ts';

/**
 * A job's kept input no longer holds the chunk its task recorded (a file kept by a hard link was written
 * in place): running it again would give another result, so the job fails as a whole instead.
 */
export class InputChangedError extends FanoutError {
  constructor(jobId: string, index: number) {
    super(
      `the kept input of job ${jobId} changed: chunk ${index} is not the chunk its task recorded ` +
        '(was the input file written in place while the job ran?)',
    );
    this.name = 'InputChangedError';
  }
}
