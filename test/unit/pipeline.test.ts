import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { StepTimeoutError, TransientError } from '../../src/core/errors.ts';
import { Pipeline } from '../../src/core/pipeline/pipeline.ts';
import { StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';
import { taskContext } from '../support/task-context.ts';

const fixtures = fileURLToPath(new URL('../fixtures/steps/', import.meta.url));
const registry = await StepRegistry.load(['never.ts', 'busy.ts'], fixtures);

const data = new TextEncoder().encode('hello fanout\n');
const task = taskContext(data);

const build = (spec: string): Pipeline => new Pipeline(registry.resolve(parsePipelineSpec(spec)));

describe('Pipeline', () => {
  it('returns the input as it is when it has no steps', async () => {
    // Prepare
    const pipeline = build('');

    // Act
    const { output } = await pipeline.run(data, task);

    // Assess
    expect(output).toBe(data);
  });

  it('runs the steps in order, each on the output of the one before', async () => {
    // Prepare
    const pipeline = build('validate,transform:uppercase,compress:gzip');

    // Act
    const { output } = await pipeline.run(data, task);

    // Assess
    expect(gunzipSync(output).toString()).toBe('HELLO FANOUT\n');
  });

  it('skips a disabled step', async () => {
    // Prepare
    const pipeline = build('chaos:fail=1:enabled=false,transform:uppercase:enabled=false');

    // Act
    const { output } = await pipeline.run(data, task);

    // Assess
    expect(output).toEqual(data);
  });

  it('passes on the error of a failing step', async () => {
    // Prepare
    const pipeline = build('chaos:fail=1,transform:uppercase');

    // Act
    const result = pipeline.run(data, task);

    // Assess
    await expect(result).rejects.toBeInstanceOf(TransientError);
  });

  it('rejects an async step that never settles with a retryable StepTimeoutError', async () => {
    // Prepare
    const pipeline = build('never:timeout=20');

    // Act
    const result = pipeline.run(data, task);

    // Assess
    await expect(result).rejects.toBeInstanceOf(StepTimeoutError);
    await expect(result).rejects.toMatchObject({
      message: 'step never did not finish within 20 ms',
      retryable: true,
    });
  });

  it('fails a synchronous step that overran its timeout, though it could not be interrupted', async () => {
    // Prepare
    const pipeline = build('busy:ms=30:timeout=10');

    // Act
    const result = pipeline.run(data, task);

    // Assess
    await expect(result).rejects.toBeInstanceOf(StepTimeoutError);
    await expect(result).rejects.toThrow('step busy did not finish within 10 ms');
  });

  it('keeps the output of a synchronous step that finished within its timeout', async () => {
    // Prepare
    const pipeline = build('busy:ms=1,transform:uppercase');

    // Act
    const { output } = await pipeline.run(data, task);

    // Assess
    expect(new TextDecoder().decode(output)).toBe('HELLO FANOUT\n');
  });

  it('says it only reads its input when every enabled step is built in', () => {
    // Prepare
    const specs = [
      'validate,transform:uppercase,compress:gzip',
      'busy:ms=1:enabled=false,validate',
      'validate,busy:ms=1',
    ];

    // Act
    const flags = specs.map((spec) => build(spec).onlyReadsInput);

    // Assess
    expect(flags).toEqual([true, true, false]);
  });
});
