import { PermanentError } from '../errors.ts';

/** More distinct group keys than a calculation keeps: the same input fails the same way on every try. */
export class TooManyGroupsError extends PermanentError {
  constructor(limit: number, byText: string, options?: ErrorOptions) {
    super(
      `more than ${limit} distinct values of by=${byText}: a calculation keeps at most ${limit} groups`,
      options,
    );
    this.name = 'TooManyGroupsError';
  }
}

/** A partial that is not one of this calculation's: another op, field or shape, from another pipeline. */
export class PartialMismatchError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PartialMismatchError';
  }
}
