import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import { StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';
import { specText, wellFormedStep } from '../support/spec-arbitraries.ts';

const registry = StepRegistry.builtIn();

/** Whatever `run` throws, if anything, when it is not a usage error. */
const nonUsageError = (run: () => unknown): unknown => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof UsageError ? undefined : error;
  }
};

describe('the pipeline grammar, for any input', () => {
  it('parses and resolves, or throws a UsageError, for any text', () => {
    // Prepare
    const text = fc.oneof(specText, fc.string({ maxLength: 40 }));

    // Act & Assess
    fc.assert(
      fc.property(text, (spec) => {
        expect(nonUsageError(() => registry.resolve(parsePipelineSpec(spec)))).toBeUndefined();
      }),
      { numRuns: 5_000 },
    );
  });

  it('gives back the steps and values a spec was written from, percent-encoded', () => {
    // Prepare
    const steps = fc.array(wellFormedStep, { minLength: 1, maxLength: 4 });

    // Act & Assess
    fc.assert(
      fc.property(steps, (written) => {
        const spec = written
          .map(({ name, params }) =>
            [name, ...Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`)].join(':'),
          )
          .join(',');
        const parsed = parsePipelineSpec(spec);
        expect(parsed.map(({ name, params }) => ({ name, params }))).toEqual(written);
      }),
      { numRuns: 2_000 },
    );
  });
});
