import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareCodePoints,
  compareHeads,
  compareKeys,
  type KeyHolder,
  KeyKind,
  type SortKey,
  type SortSpec,
  sortKey,
  sortRun,
} from '../../src/core/records/sort.ts';
import {
  recordLine,
  referenceCompareStrings,
  referenceSort,
  sortSpec,
  trickyString,
} from '../support/sort-records.ts';

const spec = (field: string[], order: SortSpec['order'] = 'asc'): SortSpec => ({
  field,
  fieldText: field.join('.'),
  order,
});

describe('sortKey', () => {
  it('reads a finite number or a string at the field path', () => {
    // Prepare
    const path = spec(['a', 'b']);

    // Act
    const keys = [
      sortKey('{"a":{"b":-2.5}}', path),
      sortKey('{"a":{"b":"x"}}', path),
      sortKey('{"a":{"b":""}}', path),
      sortKey('{"a":{"b":-0}}', path),
    ];

    // Assess
    expect(keys).toEqual([-2.5, 'x', '', -0]);
  });

  it('gives no key for values that are neither finite numbers nor strings', () => {
    // Prepare
    const path = spec(['a']);
    const lines = ['{"a":null}', '{"a":true}', '{"a":false}', '{"a":{}}', '{"a":[1]}', '{"a":1e400}', '{}'];

    // Act
    const keys = lines.map((line) => sortKey(line, path));

    // Assess
    expect(keys).toEqual(lines.map(() => undefined));
  });

  it('gives no key for a line that is not JSON, without throwing', () => {
    // Act
    const keys = ['not json', '{"a":', '', '{"a":1}}'].map((line) => sortKey(line, spec(['a'])));

    // Assess
    expect(keys).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('steps only through own properties of plain objects', () => {
    // Prepare
    const lines = [
      '{"a":[{"b":1}]}',
      '{"a":null}',
      '{"a":"text"}',
      '{"a":{"c":1}}',
      '{"a":{}}',
      '[1,2]',
      '3',
    ];

    // Act
    const keys = lines.map((line) => sortKey(line, spec(['a', 'b'])));
    const inherited = [
      sortKey('{"a":{}}', spec(['a', 'constructor'])),
      sortKey('{}', spec(['toString'])),
      sortKey('[5]', spec(['0'])),
      sortKey('[5]', spec(['length'])),
    ];
    const ownProto = sortKey('{"__proto__":{"x":4}}', spec(['__proto__', 'x']));

    // Assess
    expect(keys).toEqual(lines.map(() => undefined));
    expect(inherited).toEqual([undefined, undefined, undefined, undefined]);
    expect(ownProto).toBe(4);
  });

  it('reads the record itself for an empty path', () => {
    // Act
    const keys = [sortKey('7', spec([])), sortKey('"s"', spec([])), sortKey('{}', spec([]))];

    // Assess
    expect(keys).toEqual([7, 's', undefined]);
  });
});

describe('compareCodePoints', () => {
  it('puts astral characters after the top of the BMP, unlike UTF-16 order', () => {
    // Prepare
    const astral = '\u{1F600}';
    const privateUse = '\uE000';

    // Act
    const compared = compareCodePoints(astral, privateUse);

    // Assess
    expect(astral < privateUse).toBe(true);
    expect(compared).toBeGreaterThan(0);
  });

  it('orders prefixes first and equal strings as 0', () => {
    // Act
    const results = [
      compareCodePoints('ab', 'abc'),
      compareCodePoints('abc', 'ab'),
      compareCodePoints('same', 'same'),
      compareCodePoints('\uD800', '\uD800x'),
      compareCodePoints('\uD800\uDC00', '\uD800'),
    ];

    // Assess
    expect(results.map(Math.sign)).toEqual([-1, 1, 0, -1, 1]);
  });

  it('agrees with comparing code point by code point, lone surrogates included', () => {
    fc.assert(
      fc.property(trickyString(6), trickyString(6), (a, b) => {
        // Act
        const compared = Math.sign(compareCodePoints(a, b));

        // Assess
        expect(compared).toBe(Math.sign(referenceCompareStrings(a, b)));
        expect(Math.sign(compareCodePoints(b, a))).toBe(-compared || 0);
      }),
      { numRuns: 3_000 },
    );
  });

  it('agrees with comparing code point by code point on any strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        // Act
        const compared = Math.sign(compareCodePoints(a, b));

        // Assess
        expect(compared).toBe(Math.sign(referenceCompareStrings(a, b)));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('compareHeads', () => {
  const held = (key: SortKey): KeyHolder =>
    typeof key === 'number'
      ? { kind: KeyKind.number, number: key, string: 'stale' }
      : typeof key === 'string'
        ? { kind: KeyKind.string, number: 99, string: key }
        : { kind: KeyKind.none, number: 7, string: 'stale' };
  const key = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -2, max: 2 }),
    trickyString(),
    fc.constant(undefined),
  );

  it('orders held keys as compareKeys orders the keys, whatever the stale half holds', () => {
    fc.assert(
      fc.property(key, key, fc.constantFrom<SortSpec['order']>('asc', 'desc'), (a, b, order) => {
        // Act
        const compared = compareHeads(held(a), held(b), order === 'desc');

        // Assess
        expect(Math.sign(compared)).toBe(Math.sign(compareKeys(a, b, order)));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('compareKeys', () => {
  it('orders numbers, then strings, then no key, ascending', () => {
    // Prepare
    const keys = [undefined, 'b', 2, 'a', -1, undefined, '\u{1F600}', '\uFFFF'];

    // Act
    const sorted = [...keys].sort((a, b) => compareKeys(a, b, 'asc'));

    // Assess
    expect(sorted).toEqual([-1, 2, 'a', 'b', '\uFFFF', '\u{1F600}', undefined, undefined]);
  });

  it('reverses keyed records for desc and still puts no key last', () => {
    // Prepare
    const keys = [undefined, 'b', 2, 'a', -1, undefined, '\u{1F600}', '\uFFFF'];

    // Act
    const sorted = [...keys].sort((a, b) => compareKeys(a, b, 'desc'));

    // Assess
    expect(sorted).toEqual(['\u{1F600}', '\uFFFF', 'b', 'a', 2, -1, undefined, undefined]);
  });

  it('answers 0, never -0, for equal keys in both orders', () => {
    // Act
    const results = [
      compareKeys(1, 1, 'asc'),
      compareKeys(1, 1, 'desc'),
      compareKeys(0, -0, 'desc'),
      compareKeys('x', 'x', 'desc'),
      compareKeys(undefined, undefined, 'desc'),
    ];

    // Assess
    for (const result of results) expect(Object.is(result, 0)).toBe(true);
  });

  it('answers -1 or 1 across kinds and for no key in both orders', () => {
    // Act
    const results = [
      compareKeys(5, 'a', 'asc'),
      compareKeys('a', 5, 'asc'),
      compareKeys(5, 'a', 'desc'),
      compareKeys(undefined, 5, 'desc'),
      compareKeys('a', undefined, 'desc'),
      compareKeys(3, 2, 'asc'),
    ];

    // Assess
    expect(results).toEqual([-1, 1, 1, 1, -1, 1]);
  });
});

describe('sortRun', () => {
  it('sorts stably: equal keys keep input order', () => {
    // Prepare
    const lines = [
      '{"k":{"v":2},"n":1}',
      '{"k":{"v":1},"n":2}',
      '{"k":{"v":2},"n":3}',
      '{"k":{"v":1},"n":4}',
    ];

    // Act
    const ascending = sortRun(lines, sortSpec('asc'));
    const descending = sortRun(lines, sortSpec('desc'));

    // Assess
    expect(ascending.map((line) => JSON.parse(line).n)).toEqual([2, 4, 1, 3]);
    expect(descending.map((line) => JSON.parse(line).n)).toEqual([1, 3, 2, 4]);
  });

  it('keeps at most limit lines, and none for a limit of 0', () => {
    // Prepare
    const lines = ['{"k":{"v":3}}', 'x', '{"k":{"v":1}}', '{"k":{"v":2}}'];

    // Act
    const two = sortRun(lines, sortSpec('asc', 2));
    const none = sortRun(lines, sortSpec('asc', 0));
    const more = sortRun(lines, sortSpec('desc', 10));

    // Assess
    expect(two).toEqual(['{"k":{"v":1}}', '{"k":{"v":2}}']);
    expect(none).toEqual([]);
    expect(more).toEqual(['{"k":{"v":3}}', '{"k":{"v":2}}', '{"k":{"v":1}}', 'x']);
  });

  it('leaves its input as it was', () => {
    // Prepare
    const lines = ['{"k":{"v":2}}', '{"k":{"v":1}}'];

    // Act
    sortRun(lines, sortSpec('asc'));

    // Assess
    expect(lines).toEqual(['{"k":{"v":2}}', '{"k":{"v":1}}']);
  });

  it('equals a stable sort by the key order, for asc and desc, with and without limit', () => {
    fc.assert(
      fc.property(
        fc.array(recordLine, { maxLength: 60 }),
        fc.constantFrom<SortSpec['order']>('asc', 'desc'),
        fc.option(fc.nat(70), { nil: undefined }),
        (lines, order, limit) => {
          // Prepare
          const wanted = sortSpec(order, limit);

          // Act
          const sorted = sortRun(lines, wanted);

          // Assess
          expect(sorted).toEqual(referenceSort(lines, wanted));
        },
      ),
      { numRuns: 500 },
    );
  });
});
