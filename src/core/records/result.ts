import type { CalculateOp, Calculation } from './calculation.ts';
import { ExactSum } from './exact-sum.ts';
import type { Moments } from './moments.ts';
import { type CalculationPartial, type ChunkPartial, checkPartial } from './partial.ts';
import { compareCodePoints } from './sort.ts';
import { ValueSketch, type ValueSketchData } from './value-sketch.ts';

/** The quantiles `statistics` reports, by their names in the result. */
const QUANTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;

/** The result fields of one partial, in their fixed order. */
const resultFields = (op: CalculateOp, p: CalculationPartial): Record<string, number | null> => {
  const fields: Record<string, number | null> = { count: p.count, skipped: p.skipped };
  const exact = new ExactSum();
  exact.merge(p.sum ?? []);
  const sum = exact.value();
  const mean = p.count === 0 ? null : exact.mean(p.count);
  switch (op) {
    case 'sum':
      return { ...fields, sum };
    case 'average':
      return { ...fields, mean };
    case 'min':
      return { ...fields, min: p.min ?? null };
    case 'max':
      return { ...fields, max: p.max ?? null };
    case 'count':
      return fields;
    case 'statistics': {
      // checkPartial let through only partials with the fields of their op.
      const { m2 } = p.moments as Moments;
      const sketch = ValueSketch.from(p.sketch as ValueSketchData);
      return {
        ...fields,
        sum,
        mean,
        min: p.min ?? null,
        max: p.max ?? null,
        // Rounding can leave m2 a hair below 0 where the exact value is 0.
        stddev: p.count === 0 ? null : Math.sqrt(Math.max(0, m2) / p.count),
        ...Object.fromEntries(QUANTILES.map(([name, q]) => [name, sketch.quantile(q)])),
      };
    }
  }
};

/**
 * The job's result from the merged partial: one JSON object and a newline. Its keys are in a fixed order
 * and group keys sorted by code point, and numbers are written by JSON.stringify (shortest round trip), so
 * the same partials always give the same bytes. Without `by`:
 * `{"op","field","count","skipped",...}`; with it: `{"op","field","by","skipped","groups":{KEY:{"count",
 * "skipped",...}}}`. The op's fields: sum `sum`; average `mean`; min `min`; max `max`; count none;
 * statistics `sum, mean, min, max, stddev, p50, p90, p95, p99`. With count 0, sum is 0 and the others null.
 * The mean is within an ulp of the exact sum over count, and exact when that is a double (ExactSum.mean).
 */
export const formatResult = (calc: Calculation, merged: ChunkPartial): string => {
  const partial = checkPartial(calc, merged, 'the merged partial');
  const { op, field, by } = partial;
  if (by === undefined) {
    return `${JSON.stringify({ op, field, ...resultFields(op, partial.all as CalculationPartial) })}\n`;
  }
  // Written by hand: an object would put integer-like keys ("7") first, whatever the order of insertion.
  const groups = Object.entries(partial.groups as Record<string, CalculationPartial>)
    .sort(([a], [b]) => compareCodePoints(a, b))
    .map(([key, group]) => `${JSON.stringify(key)}:${JSON.stringify(resultFields(op, group))}`);
  const head = JSON.stringify({ op, field, by, skipped: partial.skipped });
  return `${head.slice(0, -1)},"groups":{${groups.join(',')}}}\n`;
};
