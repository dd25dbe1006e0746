import { FanoutError } from '../core/errors.ts';

/** Options of `defineResources` that break a naming rule or a service limit; the message names the option. */
export class ResourceOptionsError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ResourceOptionsError';
  }
}
