import { describe, expect, it } from 'vitest';
import { DurationSketch } from '../../src/core/stats/sketch.ts';
import { seededRandom } from '../support/prng.ts';

/** Durations spread over six orders of magnitude, from 50 µs to 50 s. */
const durations = (seed: number, n: number): number[] => {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => 0.05 * 1e6 ** random());
};

const sketchOf = (values: readonly number[]): DurationSketch => {
  const sketch = new DurationSketch();
  for (const value of values) sketch.add(value);
  return sketch;
};

/** The exact value at quantile q: the one at rank ceil(q * n), the rank the sketch looks for. */
const exactQuantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;

describe('DurationSketch', () => {
  it('gives every quantile within 1% of the exact one', () => {
    // Prepare
    const values = durations(11, 5_000);
    const sorted = [...values].sort((a, b) => a - b);
    const quantiles = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

    // Act
    const sketch = sketchOf(values);

    // Assess
    for (const q of quantiles) {
      const exact = exactQuantile(sorted, q);
      const relativeError = Math.abs(sketch.quantile(q) - exact) / exact;
      expect(relativeError, `q=${q}`).toBeLessThanOrEqual(0.01 + 1e-12);
    }
  });

  it('counts the values and averages them to the microsecond', () => {
    // Prepare
    const values = durations(12, 2_000);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;

    // Act
    const sketch = sketchOf(values);

    // Assess
    expect(sketch.count).toBe(2_000);
    expect(Math.abs(sketch.mean - mean)).toBeLessThanOrEqual(0.0005);
    expect(sketch.toJSON()).toMatchObject({ min: Math.min(...values), max: Math.max(...values) });
  });

  it('merged from two sketches, equals the sketch of all their values', () => {
    // Prepare
    const values = durations(13, 3_000);
    const left = sketchOf(values.slice(0, 1_234));
    const right = sketchOf(values.slice(1_234));

    // Act
    left.merge(right.toJSON());

    // Assess
    expect(left.toJSON()).toEqual(sketchOf(values).toJSON());
  });

  it('is unchanged by merging an empty sketch', () => {
    // Prepare
    const sketch = sketchOf(durations(14, 100));
    const before = sketch.toJSON();

    // Act
    sketch.merge(new DurationSketch().toJSON());

    // Assess
    expect(sketch.toJSON()).toEqual(before);
  });

  it('rebuilds the same sketch from its plain form', () => {
    // Prepare
    const data = sketchOf(durations(15, 500)).toJSON();

    // Act
    const rebuilt = DurationSketch.from(JSON.parse(JSON.stringify(data)));

    // Assess
    expect(rebuilt.toJSON()).toEqual(data);
  });

  it('counts values under a microsecond, and negative ones, as zeros', () => {
    // Prepare
    const sketch = new DurationSketch();

    // Act
    for (const value of [0, -5, 0.0004, 10]) sketch.add(value);

    // Assess
    expect(sketch.toJSON()).toMatchObject({ zeros: 3, count: 4, min: 0, max: 10 });
    expect(sketch.quantile(0.75)).toBe(0);
    expect(sketch.quantile(1)).toBe(10);
  });

  it('gives the value itself at every quantile of a single value', () => {
    // Prepare
    const sketch = new DurationSketch();

    // Act
    sketch.add(7.3);

    // Assess
    expect([0.01, 0.5, 0.99, 1].map((q) => sketch.quantile(q))).toEqual([7.3, 7.3, 7.3, 7.3]);
  });

  it('reports zeros for an empty sketch', () => {
    // Prepare
    const sketch = new DurationSketch();

    // Act
    const data = sketch.toJSON();

    // Assess
    expect(data).toEqual({ bins: [], zeros: 0, count: 0, sumMicros: 0, min: 0, max: 0 });
    expect(sketch.quantile(0.5)).toBe(0);
    expect(sketch.mean).toBe(0);
  });

  it('gives the minimum, within 1%, at quantile 0', () => {
    // Prepare
    const sketch = sketchOf([5, 10, 20]);

    // Act
    const lowest = sketch.quantile(0);

    // Assess
    expect(Math.abs(lowest - 5) / 5).toBeLessThanOrEqual(0.01);
  });
});
