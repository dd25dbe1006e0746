import { PipelineSpecError } from './errors.ts';
import type { ResolvedStep } from './registry.ts';

/** The built-in steps that change a chunk's data, which `validate` must come before. */
const CHANGING_STEPS: readonly string[] = ['transform', 'compress', 'check', 'calculate'];

const fieldOf = (step: ResolvedStep): string | undefined => (step.params as { field?: string }).field;

/** A step on the records of NDJSON lines, rather than on bytes. */
const onRecords = (step: ResolvedStep): boolean =>
  step.spec.name === 'check' ||
  step.spec.name === 'calculate' ||
  (step.spec.name === 'transform' && fieldOf(step) !== undefined);

/** A step after which the lines are no longer the input's, one for one. */
const renumbers = (step: ResolvedStep): boolean =>
  step.spec.name === 'compress' ||
  (step.spec.name === 'transform' &&
    fieldOf(step) === undefined &&
    (step.params as { op: string }).op === 'filter');

const named = (step: ResolvedStep): string => {
  const { op, rule } = step.params as { op?: string; rule?: string };
  return [step.spec.name, op ?? rule].filter(Boolean).join(':');
};

/**
 * The order rules of a pipeline's enabled steps: `validate` before any step that changes the data (it
 * checks the chunk as ingested); `calculate` last (its output is a partial the job combines); the record
 * steps together, and after no step that changes which line is which, so that each record keeps its line
 * of the input from the first record step to the last.
 */
export const checkOrder = (steps: readonly ResolvedStep[]): void => {
  let changed: string | undefined;
  let renumbered: string | undefined;
  let recordsEnded: string | undefined;
  for (const [at, step] of steps.entries()) {
    const { name } = step.spec;
    if (name === 'validate' && changed !== undefined)
      throw new PipelineSpecError(
        `validate must come before ${changed}: it checks each chunk as it was ingested`,
      );
    if (name === 'calculate' && at !== steps.length - 1)
      throw new PipelineSpecError(
        'calculate must be the last step: its output is a partial, which the job combines into its result',
      );
    if (onRecords(step)) {
      if (renumbered !== undefined)
        throw new PipelineSpecError(
          `${named(step)} must come before ${renumbered}: record steps read the lines of the input as they were`,
        );
      if (recordsEnded !== undefined)
        throw new PipelineSpecError(
          `record steps come together: ${recordsEnded} between them would renumber the records of ${named(step)}`,
        );
    } else if (steps.slice(0, at).some(onRecords)) recordsEnded ??= named(step);
    if (CHANGING_STEPS.includes(name)) changed ??= name;
    if (renumbers(step)) renumbered ??= named(step);
  }
};
