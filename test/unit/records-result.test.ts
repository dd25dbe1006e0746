import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CALCULATE_OPS,
  type CalculateOp,
  type ChunkPartial,
  formatResult,
  mergePartials,
  PartialBuilder,
  toCalculation,
} from '../../src/core/records/calculation.ts';
import { PartialMismatchError } from '../../src/core/records/errors.ts';
import { addValue, emptyMoments } from '../../src/core/records/moments.ts';
import { compareCodePoints } from '../../src/core/records/sort.ts';
import { ValueSketch } from '../../src/core/records/value-sketch.ts';

/** 2.5, 1 and 2 counted; 'x' and a missing value skipped. */
const PRICES: unknown[] = [{ price: 2.5 }, { price: [1, 'x', 2] }, {}];

const partialOf = (
  op: CalculateOp,
  records: readonly unknown[],
  field = 'price',
  by?: string,
): ChunkPartial => {
  const builder = new PartialBuilder(toCalculation(op, field, by));
  for (const record of records) builder.addRecord(record);
  return builder.toPartial();
};

const resultOf = (op: CalculateOp, records: readonly unknown[], field = 'price', by?: string): string =>
  formatResult(toCalculation(op, field, by), partialOf(op, records, field, by));

/** A result without its standard deviations, and those, in the order they are written. */
const withoutStddevs = (result: string): { rest: unknown; stddevs: (number | null)[] } => {
  const stddevs: (number | null)[] = [];
  const rest: unknown = JSON.parse(result, (key, value: unknown) => {
    if (key !== 'stddev') return value;
    stddevs.push(value as number | null);
    return undefined;
  });
  return { rest, stddevs };
};

describe('formatResult', () => {
  it('writes each op fields after op, field, count and skipped', () => {
    // Prepare
    const head = '{"op":"OP","field":"price","count":3,"skipped":2';

    // Act
    const results = CALCULATE_OPS.filter((op) => op !== 'statistics').map((op) => resultOf(op, PRICES));

    // Assess
    expect(results).toEqual(
      [',"sum":5.5}', ',"mean":1.8333333333333333}', ',"min":1}', ',"max":2.5}', '}'].map(
        (tail, i) => `${head.replace('OP', CALCULATE_OPS[i] as string)}${tail}\n`,
      ),
    );
  });

  it('writes statistics: sum, mean, min, max, stddev and quantiles', () => {
    // Prepare
    const sketch = new ValueSketch();
    for (const x of [2.5, 1, 2]) sketch.add(x);
    const { m2 } = [2.5, 1, 2].reduce(addValue, emptyMoments);
    const expected = {
      op: 'statistics',
      field: 'price',
      count: 3,
      skipped: 2,
      sum: 5.5,
      mean: 5.5 / 3,
      min: 1,
      max: 2.5,
      stddev: Math.sqrt(m2 / 3),
      p50: sketch.quantile(0.5),
      p90: 2.5,
      p95: 2.5,
      p99: 2.5,
    };

    // Act
    const result = resultOf('statistics', PRICES);

    // Assess
    expect(result).toBe(`${JSON.stringify(expected)}\n`);
    expect(expected.stddev).toBeCloseTo(0.6236, 4);
    expect(expected.p50).toBeCloseTo(2, 1);
  });

  it('writes sum 0 and null for the rest when nothing is counted', () => {
    // Act
    const results = CALCULATE_OPS.map(
      (op) => JSON.parse(resultOf(op, [{ price: 'x' }])) as Record<string, unknown>,
    );

    // Assess
    expect(results.map(({ op, field, ...rest }) => rest)).toEqual([
      { count: 0, skipped: 1, sum: 0 },
      { count: 0, skipped: 1, mean: null },
      { count: 0, skipped: 1, min: null },
      { count: 0, skipped: 1, max: null },
      { count: 0, skipped: 1 },
      {
        count: 0,
        skipped: 1,
        ...{ sum: 0, mean: null, min: null, max: null, stddev: null },
        ...{ p50: null, p90: null, p95: null, p99: null },
      },
    ]);
  });

  it('writes groups sorted by code point, after the records with no group key', () => {
    // Prepare
    const records = [
      { k: 'b', v: 1 },
      { k: 7, v: 2 },
      { k: '7', v: 3 },
      { k: true, v: 'x' },
      { v: 5 },
      { k: '__proto__', v: 4 },
      { k: '10', v: 1 },
      { k: '\u{1F600}', v: 1 },
      { k: '\uFF5E', v: 1 },
    ];
    const group = (count: number, skipped: number, sum: number) =>
      `{"count":${count},"skipped":${skipped},"sum":${sum}}`;

    // Act
    const result = resultOf('sum', records, 'v', 'k');

    // Assess
    expect(result).toBe(
      `{"op":"sum","field":"v","by":"k","skipped":1,"groups":{"10":${group(1, 0, 1)},"7":${group(2, 0, 5)},` +
        `"__proto__":${group(1, 0, 4)},"b":${group(1, 0, 1)},"true":${group(0, 1, 0)},` +
        `"\uFF5E":${group(1, 0, 1)},"\u{1F600}":${group(1, 0, 1)}}}\n`,
    );
  });

  it('writes an empty grouped result', () => {
    // Act
    const result = formatResult(
      toCalculation('count', 'v', 'k'),
      mergePartials(toCalculation('count', 'v', 'k'), []),
    );

    // Assess
    expect(result).toBe('{"op":"count","field":"v","by":"k","skipped":0,"groups":{}}\n');
  });

  it('rejects a merged partial of another calculation', () => {
    // Prepare
    const partial = partialOf('sum', PRICES);

    // Act
    const format = () => formatResult(toCalculation('average', 'price'), partial);

    // Assess
    expect(format).toThrow(PartialMismatchError);
    expect(format).toThrow('the merged partial is not a partial of calculate:op=average:field=price');
  });

  it('gives the bytes of one pass over the records, however they are split into chunks', () => {
    // Prepare
    const value = fc.oneof(
      fc.integer({ min: -1_000, max: 1_000 }),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((x) => x === 0 || Math.abs(x) > 1e-9),
      fc.constantFrom('x', null, undefined),
      fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }),
    );
    const record = fc.record({ k: fc.constantFrom('a', 'b', 1, undefined), v: value });
    const run = fc.tuple(
      fc.constantFrom(...CALCULATE_OPS),
      fc.boolean(),
      fc.array(record, { maxLength: 40 }),
      fc.array(fc.nat(40), { maxLength: 4 }),
    );

    // Act & Assess
    fc.assert(
      fc.property(run, ([op, grouped, records, cuts]) => {
        const by = grouped ? 'k' : undefined;
        const calc = toCalculation(op, 'v', by);
        const ends = [...new Set([0, ...cuts, records.length])]
          .filter((c) => c <= records.length)
          .sort((a, b) => a - b);
        const chunks = ends.slice(1).map((end, i) => records.slice(ends[i], end));
        const partials = chunks.map(
          (chunk) => JSON.parse(JSON.stringify(partialOf(op, chunk, 'v', by))) as unknown,
        );
        const whole = withoutStddevs(resultOf(op, records, 'v', by));
        const merged = withoutStddevs(formatResult(calc, mergePartials(calc, partials)));
        expect(merged.rest).toEqual(whole.rest);
        // Only the standard deviation depends on the split, in its last bits: Chan's merge rounds apart.
        expect(merged.stddevs.length).toBe(whole.stddevs.length);
        merged.stddevs.forEach((stddev, i) => {
          const expected = whole.stddevs[i] ?? null;
          if (stddev === null || expected === null) expect(stddev).toBe(expected);
          else expect(Math.abs(stddev - expected)).toBeLessThanOrEqual(1e-9 * Math.max(expected, 1));
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe('compareCodePoints', () => {
  it('orders by code point, where UTF-16 units would put an astral character first', () => {
    // Prepare
    const keys = ['\u{1F600}', '\uFF5E', 'b', 'ab', 'a', '', '\u{1F600}a', '\u{1F601}'];

    // Act
    const sorted = [...keys].sort(compareCodePoints);

    // Assess
    expect(sorted).toEqual(['', 'a', 'ab', 'b', '\uFF5E', '\u{1F600}', '\u{1F600}a', '\u{1F601}']);
    expect(compareCodePoints('x', 'x')).toBe(0);
  });
});
