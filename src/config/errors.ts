import { FanoutError, UsageError } from '../core/errors.ts';

/** A setting that is unknown or has a bad value; the message names the key and where it came from. */
export class ConfigError extends UsageError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A deployment that is missing a setting or holds one of the wrong form: a fault of the stack, not of a job. */
export class EnvironmentError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EnvironmentError';
  }
}
