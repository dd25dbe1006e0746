import { FanoutError } from '../core/errors.ts';

/** A deployment that is missing a setting or holds one of the wrong form: a fault of the stack, not of a job. */
export class EnvironmentError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EnvironmentError';
  }
}
