import { RE2JS } from 're2js';
import { z } from 'zod';
import { defineStep, type StepRun } from '../step.ts';
import { decodeText, encodeText, mapLines } from './text.ts';

const normalizeLine = (line: string): string =>
  line
    .trim()
    .replace(/[ \t]+/g, ' ')
    .normalize('NFC');

/**
 * A user's pattern runs on RE2 (linear in the line's length), never on the backtracking `RegExp`: a pattern
 * like `(a+)+$` would otherwise hold a thread for ever on one long line.
 */
const compilePattern = (pattern: string): RE2JS => RE2JS.compile(pattern);

const params = z
  .strictObject({
    op: z.enum(['normalize', 'uppercase', 'lowercase', 'filter']),
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
  })
  .refine((p) => (p.op === 'filter') === (p.pattern !== undefined), {
    message: 'pattern=<regex> is required by filter and allowed only with it',
    path: ['pattern'],
  });

/**
 * Line transforms. `normalize` trims each line, collapses runs of spaces and tabs, applies Unicode NFC
 * and writes LF line ends; `filter:pattern=RE` keeps the lines that match.
 */
export const transformStep = defineStep({
  name: 'transform',
  positional: ['op'],
  text: true,
  params,
  create: ({ op, pattern }): StepRun => {
    switch (op) {
      case 'normalize':
        // A CR left at the end of a line by CRLF input is whitespace to trim().
        return (input) => mapLines(input, normalizeLine);
      case 'uppercase':
        return (input) => encodeText(decodeText(input).toUpperCase());
      case 'lowercase':
        return (input) => encodeText(decodeText(input).toLowerCase());
      case 'filter': {
        const regex = compilePattern(pattern ?? '');
        return (input) => mapLines(input, (line) => (regex.test(line) ? line : undefined));
      }
    }
  },
});
