import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineKeys } from '../../src/core/records/line-keys.ts';
import {
  type KeyHolder,
  KeyKind,
  type SortKey,
  type SortSpec,
  sortKey,
} from '../../src/core/records/sort.ts';
import { recordLine, trickyString } from '../support/sort-records.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

const spec = (field: string[]): SortSpec => ({ field, fieldText: field.join('.'), order: 'asc' });

/** The key LineKeys reads from `bytes`, as sortKey would give it: undefined for none. */
const keyOf = (keys: LineKeys, bytes: Uint8Array, start = 0, end = bytes.byteLength): SortKey => {
  const holder: KeyHolder = { kind: KeyKind.none, number: 0, string: '' };
  keys.read(bytes, start, end, holder);
  return holder.kind === KeyKind.number
    ? holder.number
    : holder.kind === KeyKind.string
      ? holder.string
      : undefined;
};

/** What sortKey gives the same bytes, decoded as a merge decodes a line. */
const reference = (bytes: Uint8Array, s: SortSpec): SortKey => sortKey(decoder.decode(bytes), s);

const PATHS: string[][] = [['k', 'v'], ['k'], ['a b', 'é'], ['__proto__'], ['\u{1F600}']];

/** Names that collide with the paths above, plainly, escaped, and not at all. */
const name = fc.constantFrom('k', 'v', 'a b', 'é', '__proto__', '\u{1F600}', 'x', '', 'kk');
const escapedName = fc.constantFrom(
  '"\\u006b"',
  '"\\u0076"',
  '"a\\u0020b"',
  '"\\u00e9"',
  '"\\ud83d\\ude00"',
  '"k\\n"',
);

/** Values of every kind, with numbers written every way JSON allows. */
const scalar: fc.Arbitrary<string> = fc.oneof(
  fc.double().map((x) => (Number.isFinite(x) ? JSON.stringify(x) : '1e400')),
  fc.integer().map(String),
  fc.constantFrom(
    '0',
    '-0',
    '-0.0',
    '1e5',
    '1E-5',
    '2.5e+3',
    '0.1234567890123456789',
    '123456789012345678901234567890',
    '9007199254740993',
    '0.000000000000000000000001',
    '1e400',
    '-1e400',
    '4.9e-324',
    '100000000000000.5',
    'true',
    'false',
    'null',
    '""',
    '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"',
    '"\\ud800"',
    '"\uFEFFbom"',
  ),
  trickyString().map((s) => JSON.stringify(s)),
);

/** JSON text of nested objects and arrays over the names above, duplicates and all, spaced variously. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc
      .array(
        fc.tuple(
          fc.oneof(
            name.map((n) => JSON.stringify(n)),
            escapedName,
          ),
          tie('value'),
        ),
        { maxLength: 5 },
      )
      .map((members) => `{${members.map(([n, v]) => `${n}:${v}`).join(',')}}`),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(', ')}]`),
    fc
      .tuple(fc.constantFrom(' ', '\t', '\r', '\n', ''), tie('value'))
      .map(([space, v]) => `${space}${v}${space}`),
  ),
})).value;

/** Text that is almost JSON: a character put in, taken out or changed. */
const mangled: fc.Arbitrary<string> = fc
  .tuple(
    jsonText,
    fc.nat(),
    fc.constantFrom('', '{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '-', '.', 'e', 'x', '\u0001'),
  )
  .map(([text, at, change]) => {
    const i = at % (text.length + 1);
    return `${text.slice(0, i)}${change}${text.slice(i + (change === '' ? 1 : at % 2))}`;
  });

/** Bytes that are not always UTF-8: stray continuation bytes, cut sequences, in strings and out of them. */
const rawBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    jsonText,
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x80, 0xbf, 0xc3, 0xe2, 0xef, 0xf0, 0xff)), { maxLength: 3 }),
  )
  .map(([text, inserts]) => {
    const bytes = [...encoder.encode(text)];
    for (const [at, byte] of inserts) bytes.splice(at % (bytes.length + 1), 0, byte);
    return Uint8Array.from(bytes);
  });

describe('LineKeys', () => {
  it('reads the key sortKey reads from the decoded line, for any line', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          jsonText.map((t) => encoder.encode(t)),
          mangled.map((t) => encoder.encode(t)),
          recordLine.map((t) => encoder.encode(t)),
          rawBytes,
        ),
        fc.constantFrom(...PATHS),
        (bytes, path) => {
          // Prepare
          const s = spec(path);

          // Act
          const key = keyOf(new LineKeys(s), bytes);

          // Assess
          expect(Object.is(key, reference(bytes, s))).toBe(true);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('reads records shaped as NDJSON records are, with the field among others', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, scalar), { maxLength: 6 }),
        scalar,
        fc.nat(6),
        (members, value, at) => {
          // Prepare
          const all = [...members.map(([n, v]) => `${JSON.stringify(n)}:${v}`)];
          all.splice(at % (all.length + 1), 0, `"k":{"v":${value}}`);
          const bytes = encoder.encode(`{${all.join(',')}}`);
          const s = spec(['k', 'v']);

          // Act
          const key = keyOf(new LineKeys(s), bytes);

          // Assess
          expect(Object.is(key, reference(bytes, s))).toBe(true);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('keeps the last of duplicate names, as JSON.parse does, at every level', () => {
    // Prepare
    const keys = new LineKeys(spec(['k', 'v']));
    const lines = [
      '{"k":{"v":1,"v":2}}',
      '{"k":{"v":1},"k":{"w":1}}',
      '{"k":{"v":1},"k":5}',
      '{"k":5,"k":{"v":"x"}}',
      '{"k":{"v":1},"x":{"k":{"v":9}}}',
      '{"\\u006b":{"v":3}}',
      '{"k":{"v":[7]}}',
    ];

    // Act
    const read = lines.map((line) => keyOf(keys, encoder.encode(line)));

    // Assess
    expect(read).toEqual([2, undefined, undefined, 'x', 1, 3, undefined]);
  });

  it('reads a line within a larger buffer, and a line nested too deep for its scan', () => {
    // Prepare
    const keys = new LineKeys(spec(['k']));
    const deep = `{"k":2.5,"d":${'['.repeat(2_000)}${']'.repeat(2_000)}}`;
    const cut = `${'['.repeat(2_000)}`;
    const buffer = encoder.encode(`xx{"k":"in"}yy`);

    // Act
    const read = [
      keyOf(keys, encoder.encode(deep)),
      keyOf(keys, encoder.encode(cut)),
      keyOf(keys, buffer, 2, 12),
    ];

    // Assess
    expect(read).toEqual([2.5, undefined, 'in']);
  });

  it('gives no key for a line that is not JSON, whatever it holds at the path', () => {
    // Prepare
    const keys = new LineKeys(spec(['k']));
    const lines = [
      '{"k":1',
      '{"k":1}x',
      '\uFEFF{"k":1}',
      '{"k":01}',
      '{"k":1.}',
      '{"k":"\u0001"}',
      '{"k":"\\x"}',
      '',
    ];

    // Act
    const read = lines.map((line) => keyOf(keys, encoder.encode(line)));

    // Assess
    expect(read).toEqual(lines.map(() => undefined));
  });
});
