import { UsageError } from '../errors.ts';

/** A pipeline spec or step config that cannot be built: names the step and what was wrong with it. */
export class PipelineSpecError extends UsageError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PipelineSpecError';
  }
}
