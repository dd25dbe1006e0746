import { z } from 'zod';
import { CALCULATE_OPS, groupKey, PartialBuilder, toCalculation } from '../../records/calculation.ts';
import { getField, parseFieldPath } from '../../records/field-path.ts';
import { readNumber } from '../../records/numbers.ts';
import { type SortSpec, sortRun } from '../../records/sort.ts';
import { jsonOf } from '../records.ts';
import { defineStep, type JsonRecord, numberParam, type RecordContext, type RecordSteps } from '../step.ts';
import { encodeText } from './text.ts';

/** A dotted path to a field, checked when the pipeline is, so a bad one is refused before anything runs. */
export const fieldParam = () =>
  z.string().superRefine((text, context) => {
    try {
      parseFieldPath(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

const SORT = 'sort';

const params = z
  .strictObject({
    op: z.enum([...CALCULATE_OPS, SORT]),
    field: fieldParam(),
    by: fieldParam().optional(),
    order: z.enum(['asc', 'desc']).optional(),
    limit: numberParam().pipe(z.number().int().min(1)).optional(),
  })
  .superRefine((p, context) => {
    if (p.op === SORT && p.by !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['by'],
        message: 'sort takes no by: it orders records, it does not group them',
      });
    if (p.op !== SORT && p.order !== undefined)
      context.addIssue({ code: 'custom', path: ['order'], message: 'order is for op=sort only' });
    if (p.op !== SORT && p.limit !== undefined)
      context.addIssue({ code: 'custom', path: ['limit'], message: 'limit is for op=sort only' });
  });

export type CalculateParams = z.output<typeof params>;

/** The sort a `calculate:op=sort` step's parameters describe. */
export const sortSpecOf = (p: CalculateParams): SortSpec => ({
  field: parseFieldPath(p.field),
  fieldText: p.field,
  order: p.order ?? 'asc',
  ...(p.limit !== undefined && { limit: p.limit }),
});

/**
 * A number the calculation cannot read exactly (2^53 or beyond, or not finite) is skipped like any value
 * that is not a number, and goes to the rejects with the reason, so that it is never lost unseen.
 */
const rejectUnreadable = (
  record: JsonRecord,
  value: unknown,
  fieldText: string,
  ctx: RecordContext,
): void => {
  for (const element of Array.isArray(value) ? value : [value]) {
    if (typeof element !== 'number') continue;
    const reading = readNumber(element);
    if (!reading.ok)
      ctx.reject({
        line: record.line,
        field: fieldText,
        rule: 'number',
        value: element,
        reason: reading.reason,
      });
  }
};

const partialRun = (p: CalculateParams): RecordSteps => {
  const calculation = toCalculation(p.op as (typeof CALCULATE_OPS)[number], p.field, p.by);
  return {
    records: (records, ctx) => {
      const builder = new PartialBuilder(calculation);
      for (const record of records) {
        const value = jsonOf(record, 'calculate');
        // A record with no group is skipped whole: its numbers are not read, so not rejected either.
        const grouped =
          calculation.by === undefined || groupKey(getField(value, calculation.by)) !== undefined;
        if (grouped) rejectUnreadable(record, getField(value, calculation.field), p.field, ctx);
        builder.addRecord(value);
      }
      return encodeText(`${JSON.stringify(builder.toPartial())}\n`);
    },
  };
};

const sortedRun = (p: CalculateParams): RecordSteps => {
  const spec = sortSpecOf(p);
  return {
    records: (records) => {
      const lines = records.map((record) => {
        jsonOf(record, 'calculate');
        return record.changed ? JSON.stringify(record.value) : record.text;
      });
      const sorted = sortRun(lines, spec);
      return encodeText(sorted.length === 0 ? '' : `${sorted.join('\n')}\n`);
    },
  };
};

/**
 * A calculation over the job's records: each chunk yields a partial (or, for `sort`, its records sorted),
 * and the job's result is their fan-in, one value (or the whole input sorted). It is the pipeline's last
 * step. See docs/pipelines.md for each op's result.
 */
export const calculateStep = defineStep({
  name: 'calculate',
  text: true,
  params,
  create: (p) => (p.op === SORT ? sortedRun(p) : partialRun(p)),
});
