import { FanoutError } from '../core/errors.ts';

/** An emulator that did not start, did not answer in time or did not reset; a start failure carries the end of its log. */
export class EmulatorError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmulatorError';
  }
}

/** The local runner, like the Node.js 24 Lambda runtime, runs async handlers only: no callback methods. */
export class CallbackApiError extends FanoutError {
  constructor(method: string) {
    super(`context.${method}() is not supported: return (or throw from) an async handler instead`);
    this.name = 'CallbackApiError';
  }
}

/** A handler that ran past its function's timeout; Lambda would have stopped it, so its answer is ignored. */
export class LambdaTimeoutError extends FanoutError {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName} did not return within its timeout of ${timeoutMs} ms`);
    this.name = 'LambdaTimeoutError';
  }
}

/** A batch response that names a record the batch did not hold: Lambda then treats the whole batch as failed. */
export class BatchResponseError extends FanoutError {
  constructor(message: string) {
    super(message);
    this.name = 'BatchResponseError';
  }
}

/** Messages that DeleteMessageBatch did not delete: they will be delivered again. */
export class MessageDeleteError extends FanoutError {
  constructor(message: string) {
    super(message);
    this.name = 'MessageDeleteError';
  }
}

/** Stream records given up on after the mapping's retry attempts, as Lambda skips them. */
export class BatchDiscardedError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BatchDiscardedError';
  }
}

/** A state file of `fanout emulators` that cannot be read as one. */
export class EmulatorStateError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmulatorStateError';
  }
}
