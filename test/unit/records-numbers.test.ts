import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EXACT, readNumber } from '../../src/core/records/numbers.ts';

describe('readNumber', () => {
  it('reads a finite JSON number below 2^53', () => {
    // Prepare
    const values = [0, -0, 1.5, -42, MAX_EXACT - 1, -MAX_EXACT + 1, Number.MIN_VALUE];

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
    [MAX_EXACT, '2^53 or beyond: it may have been rounded when read'],
    [MAX_EXACT + 2, '2^53 or beyond: it may have been rounded when read'],
    [-1e300, '2^53 or beyond: it may have been rounded when read'],
  ])('does not read %j: %s', (value, reason) => {
    // Act
    const reading = readNumber(value);

    // Assess
    expect(reading).toEqual({ ok: false, reason });
  });

  it('reads every double below 2^53 as itself', () => {
    // Prepare
    const doubles = fc.double({ min: -MAX_EXACT + 1, max: MAX_EXACT - 1, noNaN: true });

    // Act & Assess
    fc.assert(
      fc.property(doubles, (value) => {
        expect(readNumber(value)).toEqual({ ok: true, value });
      }),
      { numRuns: 200 },
    );
  });
});
