import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import {
  CALCULATE_OPS,
  type CalculateOp,
  type ChunkPartial,
  groupKey,
  MAX_GROUPS,
  mergePartials,
  PartialBuilder,
  toCalculation,
} from '../../src/core/records/calculation.ts';
import { PartialMismatchError, TooManyGroupsError } from '../../src/core/records/errors.ts';
import { addValue, emptyMoments } from '../../src/core/records/moments.ts';
import { ValueSketch } from '../../src/core/records/value-sketch.ts';

/** 2.5, 1 and 2 counted; 'x', '3', a missing value, null, a number beyond 2^53 and a non-record skipped. */
const PRICES: unknown[] = [
  { price: 2.5 },
  { price: [1, 'x', 2] },
  { price: '3' },
  {},
  { price: null },
  { price: 2 ** 53 + 2 },
  { price: [] },
  'not a record',
];

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

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('toCalculation', () => {
  it('parses the field and by paths', () => {
    // Act
    const calcs = [toCalculation('sum', 'order.total'), toCalculation('count', 'n', 'user.id')];

    // Assess
    expect(calcs).toEqual([
      { op: 'sum', field: ['order', 'total'], fieldText: 'order.total' },
      { op: 'count', field: ['n'], fieldText: 'n', by: ['user', 'id'], byText: 'user.id' },
    ]);
  });

  it('rejects an unknown op or an empty path segment as usage errors', () => {
    // Act & Assess
    expect(() => toCalculation('median', 'x')).toThrow(UsageError);
    expect(() => toCalculation('median', 'x')).toThrow(
      'calculate op must be one of sum, average, min, max, count, statistics, not "median"',
    );
    expect(() => toCalculation('sum', 'a.')).toThrow(UsageError);
    expect(() => toCalculation('sum', 'a', '')).toThrow(UsageError);
  });
});

describe('groupKey', () => {
  it('keys a string as itself and a finite number or a boolean as its JSON text', () => {
    // Prepare
    const values = ['b', '', 7, -0, 1.5, 1e21, true, false];

    // Act
    const keys = values.map(groupKey);

    // Assess
    expect(keys).toEqual(['b', '', '7', '0', '1.5', '1e+21', 'true', 'false']);
  });

  it('gives no key for anything else', () => {
    // Prepare
    const values = [undefined, null, {}, ['a'], Number.NaN, Number.POSITIVE_INFINITY];

    // Act
    const keys = values.map(groupKey);

    // Assess
    expect(keys).toEqual(Array(6).fill(undefined));
  });
});

describe('PartialBuilder', () => {
  it('counts numbers and the number elements of arrays, and skips every other value', () => {
    // Act
    const partial = partialOf('sum', PRICES);

    // Assess
    expect(partial).toEqual({ v: 1, op: 'sum', field: 'price', all: { count: 3, skipped: 6, sum: [5.5] } });
  });

  it('keeps only the fields each op reads', () => {
    // Act
    const fields = CALCULATE_OPS.map((op) => Object.keys(partialOf(op, PRICES).all ?? {}));

    // Assess
    expect(Object.fromEntries(CALCULATE_OPS.map((op, i) => [op, fields[i]]))).toEqual({
      sum: ['count', 'skipped', 'sum'],
      average: ['count', 'skipped', 'sum'],
      min: ['count', 'skipped', 'min'],
      max: ['count', 'skipped', 'max'],
      count: ['count', 'skipped'],
      statistics: ['count', 'skipped', 'sum', 'moments', 'min', 'max', 'sketch'],
    });
  });

  it('keeps the moments, extremes and sketch statistics needs', () => {
    // Prepare
    const sketch = new ValueSketch();
    for (const x of [2.5, 1, 2]) sketch.add(x);

    // Act
    const partial = partialOf('statistics', PRICES);

    // Assess
    expect(partial.all).toEqual({
      count: 3,
      skipped: 6,
      sum: [5.5],
      moments: [2.5, 1, 2].reduce(addValue, emptyMoments),
      min: 1,
      max: 2.5,
      sketch: sketch.toJSON(),
    });
  });

  it('has null extremes and no moments of values when nothing is counted', () => {
    // Act
    const partial = partialOf('statistics', [{ price: 'x' }]);

    // Assess
    expect(partial.all).toMatchObject({ count: 0, skipped: 1, sum: [], min: null, max: null });
    expect(partial.all?.moments).toEqual({ count: 0, mean: 0, m2: 0 });
  });

  it('groups records by the key of their by value, and skips records with none', () => {
    // Prepare
    const records = [
      { user: { id: 'b' }, amount: 1 },
      { user: { id: 7 }, amount: 2 },
      { user: { id: '7' }, amount: [3] },
      { user: { id: true }, amount: 'x' },
      { user: {}, amount: 5 },
      { user: { id: null }, amount: 5 },
      { user: { id: '__proto__' }, amount: 4 },
    ];

    // Act
    const partial = partialOf('sum', records, 'amount', 'user.id');

    // Assess
    expect(partial).toEqual({
      v: 1,
      op: 'sum',
      field: 'amount',
      by: 'user.id',
      skipped: 2,
      groups: Object.fromEntries([
        ['b', { count: 1, skipped: 0, sum: [1] }],
        ['7', { count: 2, skipped: 0, sum: [5] }],
        ['true', { count: 0, skipped: 1, sum: [] }],
        ['__proto__', { count: 1, skipped: 0, sum: [4] }],
      ]),
    });
    expect(Object.getPrototypeOf(partial.groups)).toBe(Object.prototype);
    expect(Object.keys(roundTrip(partial).groups ?? {})).toContain('__proto__');
  });

  it('writes the by path joined when a calculation has no byText', () => {
    // Prepare
    const builder = new PartialBuilder({ op: 'count', field: ['n'], fieldText: 'n', by: ['user', 'id'] });

    // Act
    builder.addRecord({ user: { id: 'a' }, n: 1 });

    // Assess
    expect(builder.toPartial()).toMatchObject({ by: 'user.id', groups: { a: { count: 1 } } });
  });

  it('throws a TooManyGroupsError past MAX_GROUPS distinct keys', () => {
    // Prepare
    const builder = new PartialBuilder(toCalculation('count', 'n', 'id'));
    for (let id = 0; id < MAX_GROUPS; id++) builder.addRecord({ id, n: 1 });

    // Act
    const add = () => builder.addRecord({ id: 'one more', n: 1 });

    // Assess
    builder.addRecord({ id: 0, n: 1 });
    expect(add).toThrow(TooManyGroupsError);
    expect(add).toThrow('more than 10000 distinct values of by=id');
  });
});

describe('mergePartials', () => {
  it('merges partials to the partial of all their records', () => {
    // Prepare
    const partials = [PRICES.slice(0, 3), PRICES.slice(3, 6), PRICES.slice(6)].map((chunk) =>
      roundTrip(partialOf('statistics', chunk)),
    );

    // Act
    const merged = mergePartials(toCalculation('statistics', 'price'), partials);

    // Assess
    expect(merged).toEqual(partialOf('statistics', PRICES));
  });

  it('merges groups, and the records with no group key', () => {
    // Prepare
    const calc = toCalculation('max', 'v', 'k');
    const first = partialOf('max', [{ k: 'a', v: 1 }, { k: 'b', v: 'x' }, { v: 3 }], 'v', 'k');
    const second = partialOf(
      'max',
      [
        { k: 'b', v: 2 },
        { k: null, v: 3 },
        { k: '__proto__', v: 9 },
      ],
      'v',
      'k',
    );

    // Act
    const merged = mergePartials(calc, [first, roundTrip(second)]);

    // Assess
    expect(merged).toEqual({
      v: 1,
      op: 'max',
      field: 'v',
      by: 'k',
      skipped: 2,
      groups: Object.fromEntries([
        ['a', { count: 1, skipped: 0, max: 1 }],
        ['b', { count: 1, skipped: 1, max: 2 }],
        ['__proto__', { count: 1, skipped: 0, max: 9 }],
      ]),
    });
  });

  it('gives the partial of no records for no partials', () => {
    // Act
    const merged = [
      mergePartials(toCalculation('min', 'x'), []),
      mergePartials(toCalculation('min', 'x', 'k'), []),
    ];

    // Assess
    expect(merged).toEqual([
      { v: 1, op: 'min', field: 'x', all: { count: 0, skipped: 0, min: null } },
      { v: 1, op: 'min', field: 'x', by: 'k', skipped: 0, groups: {} },
    ]);
  });

  it('throws a TooManyGroupsError past MAX_GROUPS keys in all', () => {
    // Prepare
    const half = MAX_GROUPS / 2 + 1;
    const records = (from: number) => Array.from({ length: half }, (_, i) => ({ k: from + i, n: 1 }));
    const partials = [partialOf('count', records(0), 'n', 'k'), partialOf('count', records(half), 'n', 'k')];

    // Act
    const merge = () => mergePartials(toCalculation('count', 'n', 'k'), partials);

    // Assess
    expect(merge).toThrow(TooManyGroupsError);
  });

  const valid = partialOf('statistics', [{ price: 1 }, { price: -2 }]);
  const all = valid.all ?? { count: 0, skipped: 0 };
  it.each<[string, unknown, string]>([
    ['not an object', [valid], 'not an object'],
    ['of another version', { ...valid, v: 2 }, 'version 2, not 1'],
    ['of another op', { ...valid, op: 'sum' }, 'it is one of calculate:op=sum:field=price'],
    ['of another field', { ...valid, field: 'cost' }, 'it is one of calculate:op=statistics:field=cost'],
    ['with a by', { ...valid, by: 'k' }, 'it is one of calculate:op=statistics:field=price:by=k'],
    ['with an extra key', { ...valid, extra: 1 }, 'unexpected key extra'],
    ['without all', { ...valid, all: undefined }, 'all: Invalid input: expected object'],
    ['with a field of another op', { ...valid, all: { ...all, other: 1 } }, 'all: Unrecognized key: "other"'],
    ['with a count that is no count', { ...valid, all: { ...all, count: -1 } }, 'all: count:'],
    ['with a sum that is no number', { ...valid, all: { ...all, sum: ['1'] } }, 'all: sum: 0: Invalid input'],
    ['with a min beyond 2^53', { ...valid, all: { ...all, min: -(2 ** 54) } }, 'all: min: Too small'],
    [
      'with a sum beyond its count',
      { ...valid, all: { ...all, sum: [1e300] } },
      'all: sum is beyond what count values within 2^53 add up to',
    ],
    [
      'with min null for values',
      { ...valid, all: { ...all, min: null } },
      'all: min, max, moments and sketch do not fit count',
    ],
    [
      'with moments of other values',
      { ...valid, all: { ...all, moments: emptyMoments } },
      'all: min, max, moments and sketch do not fit count',
    ],
    [
      'with a sketch of other values',
      { ...valid, all: { ...all, sketch: new ValueSketch().toJSON() } },
      'all: min, max, moments and sketch do not fit count',
    ],
    [
      'with a sketch that does not add up',
      { ...valid, all: { ...all, sketch: { ...all.sketch, zeros: 1 } } },
      'all: sketch: the bin counts',
    ],
  ])('rejects a partial %s, naming it and why', (_, partial, why) => {
    // Act
    const merge = () => mergePartials(toCalculation('statistics', 'price'), [valid, partial]);

    // Assess
    expect(merge).toThrow(PartialMismatchError);
    expect(merge).toThrow(`partial 1 is not a partial of calculate:op=statistics:field=price: ${why}`);
  });

  const grouped = partialOf('sum', [{ k: 'a', v: 1 }], 'v', 'k');
  it.each<[string, unknown, string]>([
    ['without its by', { ...grouped, by: undefined }, 'it is one of calculate:op=sum:field=v'],
    ['with a skipped that is no count', { ...grouped, skipped: 0.5 }, 'skipped: not a count'],
    ['with groups that are no object', { ...grouped, groups: [] }, 'groups: not an object'],
    ['with all', { ...grouped, all: { count: 0, skipped: 0, sum: [] } }, 'unexpected key all'],
    ['with a bad group', { ...grouped, groups: { a: { count: 1 } } }, 'groups["a"]: skipped:'],
  ])('rejects a grouped partial %s', (_, partial, why) => {
    // Act
    const merge = () => mergePartials(toCalculation('sum', 'v', 'k'), [partial]);

    // Assess
    expect(merge).toThrow(`partial 0 is not a partial of calculate:op=sum:field=v:by=k: ${why}`);
  });
});
