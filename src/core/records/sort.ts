/**
 * What `calculate:op=sort` sorts by: NDJSON records ordered by the value at a field path.
 *
 * The key order, for `asc`:
 * 1. records whose field is a finite number, by the number (`-0` and `0` are equal);
 * 2. then records whose field is a string, by Unicode code point order (not UTF-16 code unit order:
 *    `'\u{1F600}'` sorts after `'\uFFFF'`);
 * 3. then every record without a key (the field missing, `null`, a boolean, an object, an array, a number
 *    JSON cannot hold as finite such as `1e400`, or a line that is not JSON), in input order.
 *
 * `desc` reverses the order of keyed records only: strings first, then numbers, largest first; records
 * without a key stay last, in input order. Records with equal keys keep their input order in both orders.
 */
export interface SortSpec {
  /** The field path, split on dots: `['user', 'age']` for `user.age`. */
  field: readonly string[];
  /** The path as written, for messages. */
  fieldText: string;
  order: 'asc' | 'desc';
  /** Keep only the first `limit` records of the sorted whole. */
  limit?: number;
}

/** A record's key: a finite number, a string, or `undefined` when it has none (see `SortSpec`). */
export type SortKey = number | string | undefined;

/** The value at `path`, reading own properties of plain objects only; undefined when any step is missing. */
const valueAt = (record: unknown, path: readonly string[]): unknown => {
  let value = record;
  for (const step of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, step)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[step];
  }
  return value;
};

/** The key of one NDJSON line; a line that is not JSON has none. */
export const sortKey = (line: string, spec: SortSpec): SortKey => {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  const value = valueAt(record, spec.field);
  if (typeof value === 'string') return value;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

const isLead = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;

/**
 * Compares by Unicode code points, as comparing `[...a]` and `[...b]` code point by code point would (a
 * lone surrogate counts as its own value), without splitting them. UTF-16 order differs from it only
 * where the first difference is a surrogate against a unit from U+E000 up, so the units are compared
 * until the first difference and only there read as code points.
 */
export const compareCodePoints = (a: string, b: string): number => {
  if (a === b) return 0;
  const shorter = Math.min(a.length, b.length);
  let i = 0;
  while (i < shorter && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i > 0 && isLead(a.charCodeAt(i - 1))) {
    // The difference may be in the trail of a pair both strings begin alike.
    const difference = (a.codePointAt(i - 1) as number) - (b.codePointAt(i - 1) as number);
    if (difference !== 0) return difference;
  }
  if (i === shorter) return a.length - b.length;
  return (a.codePointAt(i) as number) - (b.codePointAt(i) as number);
};

/**
 * Orders two keys by the key order of `SortSpec`: negative when `a` goes first, 0 when they are equal (the
 * earlier record then goes first), positive when `b` goes first. Keyless records are equal to each other.
 */
export const compareKeys = (a: SortKey, b: SortKey, order: SortSpec['order']): number => {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  let ascending: number;
  if (typeof a === 'number') ascending = typeof b === 'number' ? (a < b ? -1 : a > b ? 1 : 0) : -1;
  else ascending = typeof b === 'string' ? Math.sign(compareCodePoints(a, b)) : 1;
  // 0 - x, not -x: an equal pair compares as 0, never -0.
  return order === 'asc' ? ascending : 0 - ascending;
};

/** What kind of key a record has, in the order of `SortSpec` for `asc`. */
export const KeyKind = { number: 0, string: 1, none: 2 } as const;
export type KeyKind = (typeof KeyKind)[keyof typeof KeyKind];

/** A key held in place, as a merge keeps one per run: `number` or `string` by `kind`, the other stale. */
export interface KeyHolder {
  kind: KeyKind;
  number: number;
  string: string;
}

/**
 * Orders two held keys as `compareKeys` orders the keys they hold (`desc` for the descending order):
 * negative when `a` goes first, 0 when they are equal.
 */
export const compareHeads = (a: KeyHolder, b: KeyHolder, desc: boolean): number => {
  const kind = a.kind;
  if (kind !== b.kind) {
    if (kind === KeyKind.none || b.kind === KeyKind.none) return kind === KeyKind.none ? 1 : -1;
    return desc ? b.kind - kind : kind - b.kind;
  }
  let ascending: number;
  if (kind === KeyKind.number) ascending = a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
  else if (kind === KeyKind.string) ascending = Math.sign(compareCodePoints(a.string, b.string));
  else return 0;
  return desc ? 0 - ascending : ascending;
};

/**
 * A chunk's lines sorted by the key order of `SortSpec` (a *run*), stable, and at most `limit` of them.
 * Each line is parsed once.
 */
export const sortRun = (lines: readonly string[], spec: SortSpec): string[] => {
  const keyed = lines.map((line) => ({ line, key: sortKey(line, spec) }));
  // Array.prototype.sort is stable: equal keys keep input order.
  keyed.sort((a, b) => compareKeys(a.key, b.key, spec.order));
  const kept = spec.limit === undefined ? keyed : keyed.slice(0, spec.limit);
  return kept.map((entry) => entry.line);
};
