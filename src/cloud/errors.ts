import { FanoutError } from '../core/errors.ts';

/** A deployment that is missing a setting or holds one of the wrong form: a fault of the stack, not of a job. */
export class EnvironmentError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EnvironmentError';
  }
}

/** A delivery the processor could not settle (a store did not answer): the queue must hand it out again. */
export class DeliveryNotSettledError extends FanoutError {
  constructor(id: string, options?: ErrorOptions) {
    super(`delivery ${id} was not settled; the queue will hand it out again`, options);
    this.name = 'DeliveryNotSettledError';
  }
}
