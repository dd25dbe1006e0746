import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_SKETCH_BINS,
  SKETCH_RELATIVE_ERROR,
  ValueSketch,
  type ValueSketchData,
  valueSketchDataSchema,
} from '../../src/core/records/value-sketch.ts';

const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const QUANTILES = [0, 0.01, 0.5, 0.9, 0.95, 0.99, 1];

const sketchOf = (values: readonly number[]): ValueSketch => {
  const sketch = new ValueSketch();
  for (const value of values) sketch.add(value);
  return sketch;
};

/** The value at rank max(1, ceil(q * n)) of the sorted values: the one the sketch estimates. */
const exactQuantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;

/** Within the relative error of the true value (and a rounding's worth more); exactly 0 for 0. */
const expectWithinError = (estimate: number | null, exact: number, label: string): void => {
  expect(Math.abs((estimate as number) - exact), label).toBeLessThanOrEqual(
    Math.abs(exact) * (SKETCH_RELATIVE_ERROR + 1e-12),
  );
};

/** Zeros, and values of either sign with magnitudes from 1e-6 to 1e9. */
const mixedValue = fc.oneof(
  { arbitrary: fc.constantFrom(0, -0), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.boolean(), fc.double({ min: -6, max: 9, noNaN: true }))
      .map(([negative, exponent]) => {
        const magnitude = 10 ** exponent;
        return negative ? -magnitude : magnitude;
      }),
    weight: 6,
  },
);

/** Values with each one's part (one of 4) and the order the parts are merged in. */
const split = (value: fc.Arbitrary<number>, maxLength: number) =>
  fc.tuple(
    fc.array(fc.tuple(value, fc.nat(3)), { minLength: 1, maxLength }),
    fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4 }),
  );

const mergedInParts = (values: readonly [number, number][], order: readonly number[]): ValueSketch => {
  const sketch = new ValueSketch();
  for (const part of order)
    sketch.merge(sketchOf(values.filter(([, p]) => p === part).map(([x]) => x)).toJSON());
  return sketch;
};

describe('ValueSketch', () => {
  it('gives every quantile of mixed values within the relative error of the true one', () => {
    // Act & Assess
    fc.assert(
      fc.property(fc.array(mixedValue, { minLength: 1, maxLength: 300 }), (values) => {
        const sketch = sketchOf(values);
        const sorted = [...values].sort((a, b) => a - b);
        for (const q of QUANTILES) expectWithinError(sketch.quantile(q), exactQuantile(sorted, q), `q=${q}`);
      }),
      { numRuns: 150 },
    );
  });

  it('merged from parts in any order, equals the sketch of all the values', () => {
    // Act & Assess
    fc.assert(
      fc.property(split(mixedValue, 200), ([values, order]) => {
        expect(mergedInParts(values, order).toJSON()).toEqual(sketchOf(values.map(([x]) => x)).toJSON());
      }),
      { numRuns: 100 },
    );
  });

  it('merged in any order equals the whole even where bins collapse', () => {
    // Prepare: magnitudes from 1e-300 to 1e300, far more than 2048 bins apart.
    const wide = fc
      .tuple(fc.boolean(), fc.double({ min: -300, max: 300, noNaN: true }))
      .map(([negative, exponent]) => (negative ? -1 : 1) * 10 ** exponent);

    // Act & Assess
    fc.assert(
      fc.property(split(wide, 100), ([values, order]) => {
        const merged = mergedInParts(values, order).toJSON();
        expect(merged).toEqual(sketchOf(values.map(([x]) => x)).toJSON());
        expect(merged.positive.length).toBeLessThanOrEqual(MAX_SKETCH_BINS);
        expect(merged.negative.length).toBeLessThanOrEqual(MAX_SKETCH_BINS);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps within the error every value within gamma^2047 of the largest magnitude of its sign', () => {
    // Prepare: 1 to 6e17 log-uniformly, a few values far below, and the same negated.
    const span = GAMMA ** 2047;
    const kept = Array.from({ length: 4_000 }, (_, i) => span ** (i / 3_999));
    const values = [...kept, 1e-300, 1e-100, 1e-30, ...kept.map((x) => -x), -1e-200];
    const sorted = [...values].sort((a, b) => a - b);

    // Act
    const sketch = sketchOf(values);

    // Assess
    for (let rank = 1; rank <= sorted.length; rank += 7) {
      const exact = sorted[rank - 1] as number;
      const q = (rank - 0.5) / sorted.length;
      if (Math.abs(exact) >= 1) expectWithinError(sketch.quantile(q), exact, `rank ${rank}`);
    }
    expect(sketch.toJSON().positive).toHaveLength(MAX_SKETCH_BINS);
    expect(span).toBeCloseTo(6.034e17, -14);
  });

  it('counts the values below the kept bins in the lowest one, key by key or bin by bin', () => {
    // Prepare: bins 0 and 2 to 2047; one at 2049 folds 0 and 1 into 2 walking the keys between (1 is
    // empty), one far higher folds them all walking the bins.
    const keys = Array.from({ length: MAX_SKETCH_BINS }, (_, i) => i).filter((key) => key !== 1);
    const sketch = sketchOf(keys.map((key) => GAMMA ** (key - 0.5)));

    // Act
    sketch.add(GAMMA ** 2048.5);
    const afterOne = sketch.toJSON().positive;
    sketch.add(GAMMA ** 4_999.5);
    sketch.add(1);
    const afterFar = sketch.toJSON().positive;

    // Assess
    expect(afterOne).toHaveLength(MAX_SKETCH_BINS - 1);
    expect(afterOne.slice(0, 2)).toEqual([
      [2, 2],
      [3, 1],
    ]);
    expect(afterOne.at(-1)).toEqual([2049, 1]);
    expect(afterFar).toEqual([
      [5_000 - MAX_SKETCH_BINS + 1, MAX_SKETCH_BINS + 1],
      [5_000, 1],
    ]);
    expect(sketch.count).toBe(MAX_SKETCH_BINS + 2);
  });

  it('folds only the bins below the kept keys', () => {
    // Prepare: bins 0 and 1000, then one at 2500 keeps 453 to 2500.
    const sketch = sketchOf([-1, -(GAMMA ** 999.5)]);

    // Act
    sketch.add(-(GAMMA ** 2499.5));

    // Assess
    expect(sketch.toJSON().negative).toEqual([
      [2500 - MAX_SKETCH_BINS + 1, 1],
      [1000, 1],
      [2500, 1],
    ]);
  });

  it('orders negative values, zeros and positive values', () => {
    // Prepare
    const sketch = sketchOf([-100, -10, -1, 0, -0, 1, 10, 100]);

    // Act
    const quantiles = [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1].map((q) => sketch.quantile(q));

    // Assess
    expect(quantiles[0]).toBe(-100);
    expect(quantiles.slice(3, 5)).toEqual([0, 0]);
    expect(quantiles[7]).toBe(100);
    [-10, -1, 0, 0, 1, 10].forEach((exact, i) => {
      expectWithinError(quantiles[i + 1] as number, exact, `${i}`);
    });
  });

  it('gives the value itself at every quantile of a single value', () => {
    // Prepare
    const values = [-3.7, 0, 7.3, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE];

    // Act
    const quantiles = values.map((value) => QUANTILES.map((q) => sketchOf([value]).quantile(q)));

    // Assess
    expect(quantiles).toEqual(values.map((value) => QUANTILES.map(() => (value === 0 ? 0 : value))));
  });

  it('is empty with no values: null quantiles, min and max', () => {
    // Prepare
    const sketch = new ValueSketch();

    // Act
    const data = sketch.toJSON();

    // Assess
    expect(sketch.quantile(0.5)).toBeNull();
    expect(data).toEqual({ count: 0, zeros: 0, min: null, max: null, negative: [], positive: [] });
  });

  it('is unchanged by merging an empty sketch', () => {
    // Prepare
    const sketch = sketchOf([-2, 0, 3.5]);
    const before = sketch.toJSON();

    // Act
    sketch.merge(new ValueSketch().toJSON());

    // Assess
    expect(sketch.toJSON()).toEqual(before);
  });

  it('rebuilds the same sketch from its JSON, which the schema accepts', () => {
    // Prepare
    const data = sketchOf([-5e8, -0.25, 0, 3, 3, 1e-6, 42]).toJSON();

    // Act
    const json = JSON.parse(JSON.stringify(data)) as ValueSketchData;
    const rebuilt = ValueSketch.from(json);

    // Assess
    expect(rebuilt.toJSON()).toEqual(data);
    expect(valueSketchDataSchema.safeParse(json).success).toBe(true);
  });

  it.each([
    ['counts that do not add up', { count: 3, zeros: 1, min: 0, max: 0, negative: [], positive: [] }],
    ['min without values', { count: 0, zeros: 0, min: 1, max: null, negative: [], positive: [] }],
    ['no max with values', { count: 1, zeros: 1, min: 0, max: null, negative: [], positive: [] }],
    ['min above max', { count: 1, zeros: 1, min: 1, max: 0, negative: [], positive: [] }],
    ['a bin of no values', { count: 0, zeros: 0, min: null, max: null, negative: [[1, 0]], positive: [] }],
    ['a key that is no integer', { count: 1, zeros: 0, min: 1, max: 1, negative: [], positive: [[0.5, 1]] }],
    ['bins that are no list', { count: 0, zeros: 0, min: null, max: null, negative: {}, positive: [] }],
    ['a bin of three numbers', { count: 1, zeros: 0, min: 1, max: 1, negative: [], positive: [[0, 1, 1]] }],
    ['a bin that is no pair', { count: 1, zeros: 0, min: 1, max: 1, negative: [], positive: [1] }],
    ['an extra key', { count: 0, zeros: 0, min: null, max: null, negative: [], positive: [], sum: 0 }],
  ])('has a schema that rejects %s', (_, data) => {
    // Act
    const result = valueSketchDataSchema.safeParse(data);

    // Assess
    expect(result.success).toBe(false);
  });

  it('answers the max for a rank past counts that do not add up', () => {
    // Prepare
    const sketch = ValueSketch.from({ count: 5, zeros: 0, min: 1, max: 9, negative: [], positive: [[0, 1]] });

    // Act
    const quantile = sketch.quantile(0.5);

    // Assess
    expect(quantile).toBe(9);
  });

  it('throws a RangeError for a value that is not finite, or a quantile outside [0, 1]', () => {
    // Prepare
    const sketch = sketchOf([1]);

    // Act & Assess
    expect(() => sketch.add(Number.NaN)).toThrow(RangeError);
    expect(() => sketch.add(Number.NEGATIVE_INFINITY)).toThrow('counts finite values');
    for (const q of [-0.1, 1.5, Number.NaN]) expect(() => sketch.quantile(q)).toThrow(RangeError);
    expect(sketch.count).toBe(1);
  });
});
