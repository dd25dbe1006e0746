import { z } from 'zod';
import { defineStep } from '../../src/core/pipeline/step.ts';

/** Replaces the value of one JSON string field on every line: `redact:email`. */
export default defineStep({
  name: 'redact',
  positional: ['field'],
  params: z.strictObject({ field: z.string().regex(/^\w+$/, 'a field name is letters, digits and _') }),
  text: true,
  create: ({ field }) => {
    const value = new RegExp(`("${field}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'g');
    return (input) => new TextEncoder().encode(new TextDecoder().decode(input).replace(value, '$1"***"'));
  },
});
