import fc from 'fast-check';
import type { SortSpec } from '../../src/core/records/sort.ts';

/**
 * UTF-16 units where code unit order and code point order part ways: surrogates, lone and paired,
 * against units from U+E000 up, with a few plain ones so strings share prefixes often.
 */
const TRICKY_UNITS = [
  'a',
  'b',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\uE000',
  '\uFFFF',
  '\u{1F600}',
  '\u00e9',
];

/** Strings of tricky units: astral characters, lone surrogates, private-use and BMP ends. */
export const trickyString = (maxLength = 4): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...TRICKY_UNITS), maxLength });

/** The code points of `a` and `b` compared one by one: the reference for code point order. */
export const referenceCompareStrings = (a: string, b: string): number => {
  const x = [...a].map((c) => c.codePointAt(0) as number);
  const y = [...b].map((c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
};

/** A value for the sorted field: mostly keys that collide, and every kind of value that has no key. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 4, arbitrary: trickyString(3) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(null, true, false, {}, [], [1], { x: 1 }, '', -0),
  },
);

/** One NDJSON line: a record with `id` and maybe `k.v`, a record without it, or a line that is not JSON. */
export const recordLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(fc.nat(1000), fieldValue).map(([id, v]) => JSON.stringify({ id, k: { v } })),
  },
  { weight: 1, arbitrary: fc.nat(1000).map((id) => JSON.stringify({ id, other: 1 })) },
  { weight: 1, arbitrary: fc.nat(1000).map((id) => JSON.stringify({ id, k: 5 })) },
  { weight: 1, arbitrary: fc.constantFrom('not json', '{"id": 1,', '[1,2]', '7', '"text"') },
  // A key past what a double holds is no finite number: no key.
  { weight: 1, arbitrary: fc.constant('{"k":{"v":1e400}}') },
);

/** The spec the arbitraries aim at: `k.v`. */
export const sortSpec = (order: SortSpec['order'], limit?: number): SortSpec => ({
  field: ['k', 'v'],
  fieldText: 'k.v',
  order,
  ...(limit === undefined ? {} : { limit }),
});

/** The key of a line, as the reference sees it. */
const referenceKey = (line: string): number | string | undefined => {
  let value: unknown;
  try {
    value = JSON.parse(line)?.k?.v;
  } catch {
    return undefined;
  }
  if (typeof value === 'string') return value;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

/**
 * The reference sort of whole inputs, written apart from the code under test: keyed records in a stable
 * sort by (kind, value), reversed comparisons for `desc`, then keyless ones in input order.
 */
export const referenceSort = (lines: readonly string[], spec: SortSpec): string[] => {
  const keyed: { line: string; key: number | string }[] = [];
  const keyless: string[] = [];
  for (const line of lines) {
    const key = referenceKey(line);
    if (key === undefined) keyless.push(line);
    else keyed.push({ line, key });
  }
  const ascending = (a: number | string, b: number | string): number => {
    if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
    if (typeof a === 'number') return (a as number) - (b as number);
    return referenceCompareStrings(a as string, b as string);
  };
  keyed.sort((a, b) => (spec.order === 'asc' ? 1 : -1) * ascending(a.key, b.key));
  const sorted = [...keyed.map((entry) => entry.line), ...keyless];
  return spec.limit === undefined ? sorted : sorted.slice(0, spec.limit);
};
