import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addValue, emptyMoments, type Moments, mergeMoments } from '../../src/core/records/moments.ts';

const momentsOf = (values: readonly number[]): Moments => values.reduce(addValue, emptyMoments);

/** The textbook two passes: the mean, then the squared deviations from it. */
const twoPass = (values: readonly number[]): Moments => {
  const mean = values.reduce((sum, x) => sum + x, 0) / values.length;
  return { count: values.length, mean, m2: values.reduce((sum, x) => sum + (x - mean) ** 2, 0) };
};

/**
 * Within 1e-12 relative to the larger of the expected value and the values' scale: m2's condition number
 * grows with mean^2 / variance, so of values packed near 1e6 no computation (two-pass included) gets m2
 * within 1e-12 of itself, only within 1e-12 of scale^2 * count.
 */
const expectClose = (actual: number, expected: number, scale: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(expected), scale));
};

/** Values of up to 1e6 in magnitude, and none so small that 1e-12 of its square is no double. */
const value = fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((x) => x === 0 || Math.abs(x) >= 1e-9);
const values = fc.array(value, { minLength: 1, maxLength: 100 });

describe('moments', () => {
  it('are zero for no values, and the value itself for one', () => {
    // Act
    const one = addValue(emptyMoments, 7.5);

    // Assess
    expect(emptyMoments).toEqual({ count: 0, mean: 0, m2: 0 });
    expect(one).toEqual({ count: 1, mean: 7.5, m2: 0 });
  });

  it('of 2, 4, 4, 4, 5, 5, 7, 9 have mean 5 and population variance 4', () => {
    // Act
    const moments = momentsOf([2, 4, 4, 4, 5, 5, 7, 9]);

    // Assess
    expect(moments).toEqual({ count: 8, mean: 5, m2: 32 });
  });

  it('merged with empty moments are unchanged', () => {
    // Prepare
    const moments = momentsOf([1, 2, 3]);

    // Act
    const merged = [mergeMoments(moments, emptyMoments), mergeMoments(emptyMoments, moments)];

    // Assess
    expect(merged).toEqual([moments, moments]);
  });

  it('keep the variance of values far from 0 that a sum of squares would lose', () => {
    // Prepare
    const shifted = [4, 7, 13, 16].map((x) => x + 1e9);

    // Act
    const moments = mergeMoments(momentsOf(shifted.slice(0, 2)), momentsOf(shifted.slice(2)));

    // Assess
    expect(moments).toEqual({ count: 4, mean: 1e9 + 10, m2: 90 });
  });

  it('equal a two-pass computation within 1e-12, added one by one or merged from two parts', () => {
    // Prepare
    const split = values.chain((all) => fc.tuple(fc.constant(all), fc.nat(all.length)));

    // Act & Assess
    fc.assert(
      fc.property(split, ([all, at]) => {
        const expected = twoPass(all);
        const scale = Math.max(...all.map(Math.abs));
        for (const moments of [
          momentsOf(all),
          mergeMoments(momentsOf(all.slice(0, at)), momentsOf(all.slice(at))),
        ]) {
          expect(moments.count).toBe(expected.count);
          expectClose(moments.mean, expected.mean, scale);
          expectClose(moments.m2, expected.m2, scale ** 2 * all.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
