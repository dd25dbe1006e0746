/**
 * Base of every error Fanout raises on purpose. `retryable` is what the retry policy reads:
 * a retryable failure is tried again (on another target when one is healthy), a permanent one never is.
 */
export class FanoutError extends Error {
  readonly retryable: boolean = false;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FanoutError';
  }
}

/** A failure that may pass on another try: a timeout, a transient fault, a crashed worker, an outage. */
export class RetryableError extends FanoutError {
  override readonly retryable = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

/** A failure that will recur on every try: the chunk itself is bad. Recorded with its reason, never retried. */
export class PermanentError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

export class StepTimeoutError extends RetryableError {
  constructor(step: string, timeoutMs: number, options?: ErrorOptions) {
    super(`step ${step} did not finish within ${timeoutMs} ms`, options);
    this.name = 'StepTimeoutError';
  }
}

/** A try that ran past its timeout without yielding, so it could only be stopped with its thread. */
export class TryStoppedError extends RetryableError {
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(
      `stopped after its timeout of ${timeoutMs} ms: it never yielded, so its worker thread was ended`,
      options,
    );
    this.name = 'TryStoppedError';
  }
}

export class TransientError extends RetryableError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

export class TargetUnavailableError extends RetryableError {
  constructor(target: string, options?: ErrorOptions) {
    super(`target ${target} is unavailable`, options);
    this.name = 'TargetUnavailableError';
  }
}

export class WorkerCrashedError extends RetryableError {
  constructor(target: string, options?: ErrorOptions) {
    super(`a worker of target ${target} stopped in mid-task`, options);
    this.name = 'WorkerCrashedError';
  }
}

export class ChunkValidationError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChunkValidationError';
  }
}

export class PoisonChunkError extends PermanentError {
  constructor(index: number, options?: ErrorOptions) {
    super(`chunk ${index} is poisoned (chaos:poison) and fails on every try`, options);
    this.name = 'PoisonChunkError';
  }
}

/** Bad input from a user: an option, a pipeline spec, a config key. Maps to HTTP 400 and CLI exit 2. */
export class UsageError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The plain shape of an error that crosses a thread, a queue or a table. */
export interface ErrorRecord {
  name: string;
  message: string;
  retryable: boolean;
}

export const toErrorRecord = (error: unknown): ErrorRecord => {
  if (error instanceof FanoutError) {
    return { name: error.name, message: error.message, retryable: error.retryable };
  }
  if (error instanceof Error) {
    // An error we did not raise on purpose (a bug in a custom step, a library fault) may pass on another try.
    return { name: error.name, message: error.message, retryable: true };
  }
  return { name: 'Error', message: String(error), retryable: true };
};
