import { type Calculation, toCalculation } from '../records/calculation.ts';
import type { SortSpec } from '../records/sort.ts';
import type { StepSpec } from './step.ts';
import { type CalculateParams, calculateStep, sortSpecOf } from './steps/calculate.ts';

/**
 * How a job's result is made from its chunks' outputs, when it is more than laying them end to end: a
 * calculation's partials reduced to one value, or sorted runs merged into one order.
 */
export type FanIn = { kind: 'reduce'; calculation: Calculation } | { kind: 'sort'; sort: SortSpec };

/**
 * The fan-in of a pipeline whose last enabled step is a `calculate`; undefined for any other pipeline.
 * The pipeline was checked when its job was made, so its parameters parse.
 */
export const fanInOf = (pipeline: readonly StepSpec[]): FanIn | undefined => {
  const last = pipeline.filter((spec) => spec.enabled).at(-1);
  if (last?.name !== calculateStep.name) return undefined;
  const params: CalculateParams = calculateStep.params.parse(last.params);
  if (params.op === 'sort') return { kind: 'sort', sort: sortSpecOf(params) };
  return { kind: 'reduce', calculation: toCalculation(params.op, params.field, params.by) };
};
