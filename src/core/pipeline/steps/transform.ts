import { z } from 'zod';
import { defineStep, type StepRun } from '../step.ts';
import { decodeText, encodeText, mapLines } from './text.ts';

const normalizeLine = (line: string): string =>
  line
    .trim()
    .replace(/[ \t]+/g, ' ')
    .normalize('NFC');

const compilePattern = (pattern: string): RegExp => new RegExp(pattern, 'u');

const params = z
  .strictObject({
    op: z.enum(['normalize', 'uppercase', 'lowercase', 'filter']),
    pattern: z
      .string()
      .refine(
        (pattern) => {
          try {
            compilePattern(pattern);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'not a valid regular expression' },
      )
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
