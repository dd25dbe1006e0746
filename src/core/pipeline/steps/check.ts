import { RE2JS } from 're2js';
import { z } from 'zod';
import { ChunkValidationError } from '../../errors.ts';
import { CHECK_RULES, type CheckSpec, compileCheck } from '../../records/checks.ts';
import { getField, parseFieldPath } from '../../records/field-path.ts';
import { defineStep, NOT_JSON, numberParam, type RecordContext, type RejectRecord } from '../step.ts';
import { fieldParam } from './calculate.ts';

const params = z
  .strictObject({
    rule: z.enum(CHECK_RULES),
    field: fieldParam(),
    min: numberParam().optional(),
    max: numberParam().optional(),
    pattern: z.string().optional(),
    on_invalid: z.enum(['reject', 'fail']).default('reject'),
  })
  .superRefine((p, context) => {
    const bounded = p.rule === 'range' || p.rule === 'length';
    for (const key of ['min', 'max'] as const) {
      if (!bounded && p[key] !== undefined)
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} is for the range and length rules only`,
        });
      if (
        p.rule === 'length' &&
        p[key] !== undefined &&
        !(Number.isInteger(p[key]) && (p[key] as number) >= 0)
      )
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `a length's ${key} is a whole number from 0`,
        });
    }
    if (bounded && p.min === undefined && p.max === undefined)
      context.addIssue({ code: 'custom', path: ['min'], message: `${p.rule} needs min=, max= or both` });
    if (p.min !== undefined && p.max !== undefined && p.min > p.max)
      context.addIssue({ code: 'custom', path: ['min'], message: `min ${p.min} is above max ${p.max}` });
    if ((p.rule === 'regex') !== (p.pattern !== undefined))
      context.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: 'pattern=<regex> is required by regex and allowed only with it',
      });
    if (p.pattern !== undefined) {
      try {
        RE2JS.compile(p.pattern);
      } catch (error) {
        context.addIssue({
          code: 'custom',
          path: ['pattern'],
          message: `not an RE2 regular expression (${(error as Error).message})`,
        });
      }
    }
  });

type CheckParams = z.output<typeof params>;

const specOf = ({ rule, min, max, pattern }: CheckParams): CheckSpec => {
  if (rule === 'range' || rule === 'length')
    return { rule, ...(min !== undefined && { min }), ...(max !== undefined && { max }) };
  if (rule === 'regex') return { rule, pattern: pattern as string };
  return { rule };
};

/**
 * Checks one field of each record by a rule: a valid record goes on; an invalid one (or a line that is not
 * JSON) goes to the job's rejects, with its line, field, rule, value and the reason, and the chunk still
 * completes; with `on_invalid=fail` the chunk fails for good instead, naming the first invalid record.
 */
export const checkStep = defineStep({
  name: 'check',
  positional: ['rule'],
  text: true,
  params,
  create: (p) => {
    const invalid = compileCheck(specOf(p));
    const path = parseFieldPath(p.field);
    const refuse = (ctx: RecordContext, reject: RejectRecord) => {
      if (p.on_invalid === 'fail')
        throw new ChunkValidationError(
          `check:${p.rule}: line ${reject.line}, field ${reject.field ?? '(none)'}: ${reject.reason}`,
        );
      ctx.reject(reject);
    };
    return {
      records: (records, ctx) =>
        records.filter((record) => {
          if (record.value === NOT_JSON) {
            const { line, text } = record;
            refuse(ctx, { line, field: null, rule: 'json', value: text, reason: 'not valid JSON' });
            return false;
          }
          const value = getField(record.value, path);
          const reason = invalid(value);
          if (reason === undefined) return true;
          refuse(ctx, { line: record.line, field: p.field, rule: p.rule, value: value ?? null, reason });
          return false;
        }),
    };
  },
});
