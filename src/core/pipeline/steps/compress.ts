import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { defineStep, numberParam, type StepRun } from '../step.ts';

const LEVELS = {
  gzip: { max: 9, fallback: 6 },
  deflate: { max: 9, fallback: 6 },
  // Brotli's own default, 11, runs at a few MB/s; 5 keeps most of the ratio at many times the speed.
  brotli: { max: 11, fallback: 5 },
} as const;

/**
 * Compresses each chunk on its own. A gzip chunk is a complete gzip member, so a job's outputs
 * concatenated in chunk order are themselves a valid `.gz` file.
 */
export const compressStep = defineStep({
  name: 'compress',
  positional: ['algorithm'],
  params: z
    .strictObject({
      algorithm: z.enum(['gzip', 'brotli', 'deflate']),
      level: numberParam().pipe(z.number().int().min(0).max(11)).optional(),
    })
    .refine((p) => p.level === undefined || p.level <= LEVELS[p.algorithm].max, {
      message: 'level is 0-9 for gzip and deflate, 0-11 for brotli',
      path: ['level'],
    }),
  create: ({ algorithm, level }): StepRun => {
    const chosen = level ?? LEVELS[algorithm].fallback;
    switch (algorithm) {
      case 'gzip':
        return (input) => gzipSync(input, { level: chosen });
      case 'deflate':
        return (input) => deflateSync(input, { level: chosen });
      case 'brotli':
        return (input) =>
          brotliCompressSync(input, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: chosen,
              [constants.BROTLI_PARAM_SIZE_HINT]: input.byteLength,
            },
          });
    }
  },
});
