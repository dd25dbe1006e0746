import { FanoutError } from '../core/errors.ts';

/** Options of `defineResources` that break a naming rule or a service limit; the message names the option. */
export class ResourceOptionsError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ResourceOptionsError';
  }
}

/** `npm run deploy:emulator` cannot run as set up: no emulator endpoint, or one off this machine. */
export class DeployEmulatorError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeployEmulatorError';
  }
}
