import { FanoutError } from '../core/errors.ts';

/** A delivery the processor could not settle (a store did not answer): the queue must hand it out again. */
export class DeliveryNotSettledError extends FanoutError {
  constructor(id: string, options?: ErrorOptions) {
    super(`delivery ${id} was not settled; the queue will hand it out again`, options);
    this.name = 'DeliveryNotSettledError';
  }
}
