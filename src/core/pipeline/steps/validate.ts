import { z } from 'zod';
import { sha256Hex } from '../../chunker.ts';
import { ChunkValidationError } from '../../errors.ts';
import { defineStep } from '../step.ts';
import { decodeText } from './text.ts';

const assertNdjson = (data: Uint8Array, index: number): void => {
  const lines = decodeText(data).split('\n');
  for (const [offset, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      JSON.parse(line);
    } catch {
      throw new ChunkValidationError(`chunk ${index}, line ${offset + 1}: not valid JSON`);
    }
  }
};

/**
 * Rejects an empty chunk and one whose SHA-256 differs from the one taken at ingest (corruption in
 * transit); `validate:ndjson` also requires every non-blank line to be JSON.
 */
export const validateStep = defineStep({
  name: 'validate',
  positional: ['format'],
  text: ({ format }) => format === 'ndjson',
  params: z.strictObject({ format: z.enum(['ndjson']).optional() }),
  create:
    ({ format }) =>
    (input, ctx) => {
      if (input.byteLength === 0) throw new ChunkValidationError(`chunk ${ctx.index} is empty`);
      if (sha256Hex(input) !== ctx.sha256) {
        throw new ChunkValidationError(`chunk ${ctx.index}: SHA-256 differs from the one taken at ingest`);
      }
      if (format === 'ndjson') assertNdjson(input, ctx.index);
      return input;
    },
});
