import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExactSum } from '../../src/core/records/exact-sum.ts';

/** Every finite double is an integer times 2^-1074: that integer, exactly. */
const scaled = (x: number): bigint => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const magnitude = exponent === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(exponent - 1);
  return bits >> 63n === 1n ? -magnitude : magnitude;
};

/**
 * The exact sum of doubles, computed in BigInt, then rounded once: n * 2^-1074 is n * 5^1074 * 10^-1074, a
 * decimal that Number() rounds correctly. Doubles, not the decimals they were written as: 0.1 + 0.2 sums
 * the two doubles nearest 0.1 and 0.2, whose exact sum rounds to 0.30000000000000004.
 */
const exactSum = (values: readonly number[]): number => {
  const total = values.reduce((sum, x) => sum + scaled(x), 0n);
  const digits = ((total < 0n ? -total : total) * 5n ** 1074n).toString().padStart(1075, '0');
  return Number(`${total < 0n ? '-' : ''}${digits.slice(0, -1074)}.${digits.slice(-1074)}`);
};

/** The exact mean, rounded once: the BigInt quotient to 1074 decimals, a sticky 1 after it if inexact. */
const exactMean = (values: readonly number[]): number => {
  const total = values.reduce((sum, x) => sum + scaled(x), 0n);
  const scaledTotal = (total < 0n ? -total : total) * 5n ** 1074n;
  const count = BigInt(values.length);
  const digits = (scaledTotal / count).toString().padStart(1075, '0');
  const sticky = scaledTotal % count === 0n ? '' : '1';
  return Number(`${total < 0n ? '-' : ''}${digits.slice(0, -1074)}.${digits.slice(-1074)}${sticky}`);
};

/** The double next to x away from 0 and towards it. */
const neighbours = (x: number): number[] => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  return [bits + 1n, bits - 1n].map((b) => {
    view.setBigUint64(0, b);
    return Math.sign(x) * view.getFloat64(0);
  });
};

const sumOf = (values: readonly number[]): ExactSum => {
  const sum = new ExactSum();
  for (const value of values) sum.add(value);
  return sum;
};

/** Integers within 2^53, and decimals of up to 6 places within 2^53, as JSON text would give them. */
const decimal = fc.oneof(
  fc.maxSafeInteger(),
  fc.constantFrom(2 ** 53, -(2 ** 53), 0, -0),
  fc
    .tuple(
      fc.bigInt({ min: -(2n ** 53n) * 10n ** 6n, max: 2n ** 53n * 10n ** 6n }),
      fc.integer({ min: 1, max: 6 }),
    )
    .map(([digits, places]) => Number(`${digits}e-${places}`)),
  fc
    .tuple(fc.integer({ min: -999_999, max: 999_999 }), fc.integer({ min: 1, max: 6 }))
    .map(([d, p]) => d / 10 ** p),
);

/** Values with each one's group (one of 5) and the order the groups are merged in. */
const splitValues = (value: fc.Arbitrary<number>) =>
  fc.tuple(
    fc.array(fc.tuple(value, fc.nat(4)), { maxLength: 60 }),
    fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: 5 }),
  );

const mergedInGroups = (values: readonly [number, number][], order: readonly number[]): ExactSum => {
  const total = new ExactSum();
  for (const group of order) {
    total.merge(sumOf(values.filter(([, g]) => g === group).map(([x]) => x)).partials);
  }
  return total;
};

describe('ExactSum', () => {
  it('is 0 for no values', () => {
    // Act
    const sum = new ExactSum();

    // Assess
    expect(sum.value()).toBe(0);
    expect(sum.partials).toEqual([]);
  });

  it('gives the correctly rounded sum of the doubles, as math.fsum does', () => {
    // Prepare
    const cases: [number[], number][] = [
      [[0.1, 0.2], 0.30000000000000004],
      [Array(10).fill(0.1), 1],
      [[1e100, 1, -1e100], 1],
      [[2 ** 53, 1, 1], 2 ** 53 + 2],
      [[1, 1e-16, 1e-16], 1.0000000000000002],
      // Partials that add up exactly at the end: [1, -992800745259008].
      [[2 ** 53, 1, -1e16], -992800745259007],
    ];

    // Act
    const sums = cases.map(([values]) => sumOf(values).value());

    // Assess
    expect(sums).toEqual(cases.map(([, sum]) => sum));
  });

  it('rounds a sum that is a tie in its top partials by the partials below them', () => {
    // Prepare: cases of CPython's test_math.testFsum, and one whose lower partials are no tie.
    const cases: [number[], number][] = [
      [[2 ** 53 - 4, 0.5, 2 ** -54], 2 ** 53 - 3],
      [[2 ** 53, -0.5, -(2 ** -54)], 2 ** 53 - 1],
      [[2 ** 53 + 10, 1, 2 ** -100], 2 ** 53 + 12],
      [[1, 2 ** -60, 2 ** -200], 1],
    ];

    // Act
    const sums = cases.map(([values]) => sumOf(values).value());

    // Assess
    expect(sums).toEqual(cases.map(([, sum]) => sum));
    expect(sums).toEqual(cases.map(([values]) => exactSum(values)));
  });

  it('keeps non-overlapping partials that add up to the sum', () => {
    // Prepare
    const sum = sumOf([1e100, 1, 1e-100, -3]);

    // Act
    const partials = sum.partials;

    // Assess
    expect(partials).toEqual([1e-100, -2, 1e100]);
    partials.push(5);
    expect(sum.partials).toHaveLength(3);
  });

  it('throws a RangeError for a value or a total that is not finite', () => {
    // Prepare
    const overflow = sumOf([Number.MAX_VALUE]);

    // Act & Assess
    expect(() => new ExactSum().add(Number.NaN)).toThrow(RangeError);
    expect(() => new ExactSum().add(Number.POSITIVE_INFINITY)).toThrow('only finite values and totals');
    expect(() => overflow.add(Number.MAX_VALUE)).toThrow(RangeError);
  });

  it('gives the mean of equal values as that value, where sum / count would not', () => {
    // Prepare
    const cases = [Array(3).fill(0.1), Array(7).fill(-0.7), Array(10).fill(1e-5), [0.1, 0.2, 0.3]];

    // Act
    const means = cases.map((values) => sumOf(values).mean(values.length));

    // Assess
    expect(sumOf(Array(3).fill(0.1)).value() / 3).toBe(0.10000000000000002);
    expect(means).toEqual([0.1, -0.7, 1e-5, 0.2]);
  });

  it('gives a mean within an ulp of the exact one, and the value of equal values', () => {
    // Prepare
    const run = fc.tuple(
      fc.array(decimal, { minLength: 1, maxLength: 40 }),
      decimal,
      fc.integer({ min: 1, max: 50 }),
    );
    let missed = 0;

    // Act & Assess
    fc.assert(
      fc.property(run, ([values, value, copies]) => {
        const mean = sumOf(values).mean(values.length);
        const exact = exactMean(values);
        if (mean !== exact) missed++;
        expect([exact, ...neighbours(exact)]).toContain(mean);
        expect(sumOf(Array(copies).fill(value)).mean(copies)).toBe(value === 0 ? 0 : value);
      }),
      { numRuns: 300 },
    );
    expect(missed).toBeLessThanOrEqual(3);
  });

  it('gives the exact sum of decimals of up to 6 places, however split and merged', () => {
    // Act & Assess
    fc.assert(
      fc.property(splitValues(decimal), ([values, order]) => {
        const all = values.map(([x]) => x);
        expect(mergedInGroups(values, order).value()).toBe(exactSum(all));
        expect(sumOf(all).value()).toBe(exactSum(all));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the exact sum of any doubles within 2^53, however split and merged', () => {
    // Prepare
    const double = fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: true });

    // Act & Assess
    fc.assert(
      fc.property(splitValues(double), ([values, order]) => {
        expect(mergedInGroups(values, order).value()).toBe(exactSum(values.map(([x]) => x)));
      }),
      { numRuns: 200 },
    );
  });
});
