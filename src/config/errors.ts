import { UsageError } from '../core/errors.ts';

/** A setting that is unknown or has a bad value; the message names the key and where it came from. */
export class ConfigError extends UsageError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}
