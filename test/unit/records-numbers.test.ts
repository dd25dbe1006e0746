import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EXACT, readNumber } from '../../src/core/records/numbers.ts';

describe('readNumber', () => {
  it('reads a finite JSON number within 2^53', () => {
    // Prepare
    const values = [0, -0, 1.5, -42, MAX_EXACT, -MAX_EXACT, Number.MIN_VALUE];

    // Act
    const readings = values.map(readNumber);

    // Assess
    expect(readings).toEqual(values.map((value) => ({ ok: true, value })));
  });

  it.each([
    [undefined, 'missing'],
    [null, 'not a number (null)'],
    ['12', 'not a number (string)'],
    [true, 'not a number (boolean)'],
    [[1], 'not a number (array)'],
    [{ a: 1 }, 'not a number (object)'],
    [Number.POSITIVE_INFINITY, 'not finite'],
    [Number.NaN, 'not finite'],
    [MAX_EXACT + 2, 'beyond 2^53: it cannot be read exactly'],
    [-1e300, 'beyond 2^53: it cannot be read exactly'],
  ])('does not read %j: %s', (value, reason) => {
    // Act
    const reading = readNumber(value);

    // Assess
    expect(reading).toEqual({ ok: false, reason });
  });

  it('reads every double within 2^53 as itself', () => {
    // Prepare
    const doubles = fc.double({ min: -MAX_EXACT, max: MAX_EXACT, noNaN: true });

    // Act & Assess
    fc.assert(
      fc.property(doubles, (value) => {
        expect(readNumber(value)).toEqual({ ok: true, value });
      }),
      { numRuns: 200 },
    );
  });
});
