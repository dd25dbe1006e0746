import { RE2JS } from 're2js';
import { z } from 'zod';
import { getField, parseFieldPath, setField } from '../../records/field-path.ts';
import { jsonOf } from '../records.ts';
import { defineStep, type RecordSteps, type StepRun } from '../step.ts';
import { fieldParam } from './calculate.ts';
import { decodeText, encodeText, mapLines } from './text.ts';

const normalizeText = (text: string): string =>
  text
    .trim()
    .replace(/[ \t]+/g, ' ')
    .normalize('NFC');

/** By code points, so that a character outside the BMP stays whole; a CRLF line keeps its CR at the end. */
const reverseText = (text: string): string =>
  text.endsWith('\r') ? `${reverseText(text.slice(0, -1))}\r` : Array.from(text).reverse().join('');

/**
 * A user's pattern runs on RE2 (linear in the line's length), never on the backtracking `RegExp`: a pattern
 * like `(a+)+$` would otherwise hold a thread for ever on one long line.
 */
const compilePattern = (pattern: string): RE2JS => RE2JS.compile(pattern);

const params = z
  .strictObject({
    op: z.enum(['normalize', 'uppercase', 'lowercase', 'reverse', 'filter']),
    pattern: z
      .string()
      .superRefine((pattern, context) => {
        try {
          compilePattern(pattern);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          context.addIssue({ code: 'custom', message: `not an RE2 regular expression (${reason})` });
        }
      })
      .optional(),
    field: fieldParam().optional(),
  })
  .refine((p) => (p.op === 'filter') === (p.pattern !== undefined), {
    message: 'pattern=<regex> is required by filter and allowed only with it',
    path: ['pattern'],
  });

type TransformParams = z.output<typeof params>;

/** The text operation of `op` on one string; `undefined` drops it (a filter that does not match). */
const textOp = ({ op, pattern }: TransformParams): ((text: string) => string | undefined) => {
  switch (op) {
    case 'normalize':
      return normalizeText;
    case 'uppercase':
      return (text) => text.toUpperCase();
    case 'lowercase':
      return (text) => text.toLowerCase();
    case 'reverse':
      return reverseText;
    case 'filter': {
      // The refinement above requires a pattern with filter.
      const regex = compilePattern(pattern as string);
      return (text) => (regex.test(text) ? text : undefined);
    }
  }
};

const onLines = (p: TransformParams): StepRun => {
  // Case needs no line split: the whole chunk at once is many times faster.
  if (p.op === 'uppercase') return (input) => encodeText(decodeText(input).toUpperCase());
  if (p.op === 'lowercase') return (input) => encodeText(decodeText(input).toLowerCase());
  // A CR left at the end of a line by CRLF input is whitespace to normalize's trim().
  return (input) => mapLines(input, textOp(p));
};

/** The operation on one field of each record: a string field changes; a filter drops what does not match. */
const onField = (p: TransformParams, fieldText: string): RecordSteps => {
  const path = parseFieldPath(fieldText);
  const apply = textOp(p);
  return {
    records: (records) =>
      records.filter((record) => {
        const value = getField(jsonOf(record, 'transform'), path);
        if (typeof value !== 'string') return p.op !== 'filter';
        const changed = apply(value);
        if (changed === undefined) return false;
        if (changed !== value && setField(record.value, path, changed)) record.changed = true;
        return true;
      }),
  };
};

/**
 * Text transforms, on each line or, with `field=PATH`, on one string field of each NDJSON record.
 * `normalize` trims, collapses runs of spaces and tabs and applies Unicode NFC; `reverse` reverses the
 * characters (code points); `filter:pattern=RE` keeps the lines (records) that match.
 */
export const transformStep = defineStep({
  name: 'transform',
  positional: ['op'],
  text: true,
  params,
  create: (p) => (p.field === undefined ? onLines(p) : onField(p, p.field)),
});
