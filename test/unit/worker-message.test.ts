import { describe, expect, it } from 'vitest';
import { WorkerMessage, workerJob } from '../../src/api/worker-message.ts';
import { UsageError } from '../../src/core/errors.ts';

describe('workerJob', () => {
  it("runs the worker's calculate message as a sum over its numbers", () => {
    // Prepare
    const message = {
      id: 'job-123',
      type: 'calculate',
      payload: { operation: 'sum', numbers: [1, 2, 3, 4] },
    };

    // Act
    const job = workerJob(message);

    // Assess
    expect(job).toEqual({ pipeline: 'calculate:op=sum:field=numbers', record: { numbers: [1, 2, 3, 4] } });
  });

  it.each([
    [{ type: 'sum', payload: { numbers: [1] } }, 'calculate:op=sum:field=numbers'],
    [{ type: 'aggregate', payload: { numbers: [1] } }, 'calculate:op=statistics:field=numbers'],
    [
      { type: 'calculate', payload: { operation: 'average', numbers: [1] } },
      'calculate:op=average:field=numbers',
    ],
    [{ type: 'email', payload: { value: 'a@b.co' } }, 'check:email:field=value'],
    [
      { type: 'validate', payload: { rule: 'range', value: 5, min: 1, max: 10 } },
      'check:range:field=value:min=1:max=10',
    ],
    [
      { type: 'regex', payload: { value: 'x', pattern: '^a:b,c%$' } },
      'check:regex:field=value:pattern=^a%3Ab%2Cc%25$',
    ],
    [{ type: 'uppercase', payload: { data: 'abc' } }, 'transform:uppercase:field=data'],
    [
      { type: 'transform', payload: { operation: 'filter', data: 'abc', pattern: 'a' } },
      'transform:filter:field=data:pattern=a',
    ],
  ])('maps %j to the pipeline %s', (message, pipeline) => {
    // Act
    const job = workerJob(message);

    // Assess
    expect(job.pipeline).toBe(pipeline);
  });

  it('leaves a missing value out of the record, for the check to call it missing', () => {
    // Act
    const job = workerJob({ type: 'required', payload: {} });

    // Assess
    expect(job.record).toEqual({});
  });

  it.each([
    [1e-7, 'min=0.0000001'],
    [-2.5e-8, 'min=-0.000000025'],
    [1.5e20, 'min=150000000000000000000'],
    [42, 'min=42'],
  ])('writes the bound %d without an exponent, as %s', (min, param) => {
    // Act
    const job = workerJob({ type: 'range', payload: { value: 1, min } });

    // Assess
    expect(job.pipeline).toBe(`check:range:field=value:${param}`);
  });

  it.each([
    ['order 1', true],
    ['jöb-7', true],
    ['x'.repeat(255), true],
    ['x'.repeat(256), false],
  ])('takes the id %j as a key: %s', (id, valid) => {
    // Act
    const parsed = WorkerMessage.safeParse({ id, type: 'sum', payload: {} });

    // Assess
    expect(parsed.success).toBe(valid);
  });

  it.each([
    [{ type: 'fly', payload: {} }, 'type: unknown message type "fly"'],
    [{ type: 'constructor', payload: {} }, 'type: unknown message type "constructor"'],
    [
      { type: 'calculate', payload: { operation: 'median', numbers: [] } },
      'payload.operation: unknown calculation "median"',
    ],
    [{ type: 'calculate', payload: { operation: 'sort', numbers: [] } }, 'sort works on records'],
    [{ type: 'calculate', payload: { numbers: [] } }, 'payload.operation'],
    [{ type: 'sum', payload: { numbers: 'one' } }, 'payload.numbers'],
    [{ type: 'validate', payload: { rule: 'shiny' } }, 'payload.rule: unknown validation "shiny"'],
    [{ type: 'range', payload: { value: 1, min: 1e21 } }, 'payload.min: 1e+21 is too large to be a bound'],
    [{ type: 'range', payload: { value: 1 } }, 'payload.min, payload.max: range needs one of them or both'],
    [{ type: 'length', payload: { value: 'a', max: 'ten' } }, 'payload.max'],
    [
      { type: 'transform', payload: { operation: 'shout', data: 'a' } },
      'payload.operation: unknown transformation "shout"',
    ],
    [{ type: 'lowercase', payload: { data: 7 } }, 'payload.data (a string)'],
  ])('refuses %j, naming what is wrong', (message, named) => {
    // Act
    const act = () => workerJob(message);

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(named);
  });
});
