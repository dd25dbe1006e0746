import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import { CHECK_RULES, type CheckSpec, compileCheck, readNumeric } from '../../src/core/records/checks.ts';

/** What the check of `spec` says of each value: undefined when valid, else the reason. */
const verdicts = (spec: CheckSpec, values: readonly unknown[]): (string | undefined)[] =>
  values.map(compileCheck(spec));

const NUMBER_RULE = 'not numeric text (decimal digits with an optional leading - and .fraction)';

describe('compileCheck', () => {
  it('fails every rule on a missing value', () => {
    // Prepare
    const specs: CheckSpec[] = [
      { rule: 'email' },
      { rule: 'phone' },
      { rule: 'numeric' },
      { rule: 'required' },
      { rule: 'range', min: 0 },
      { rule: 'length', max: 3 },
      { rule: 'regex', pattern: '' },
    ];

    // Act
    const reasons = specs.map((spec) => compileCheck(spec)(undefined));

    // Assess
    expect(specs.map((spec) => spec.rule)).toEqual([...CHECK_RULES]);
    expect(reasons).toEqual(Array(7).fill('missing'));
  });

  it('requires a value that is not null, blank or an empty array', () => {
    // Prepare
    const values = ['a', 0, false, [0], {}, ' x ', null, '', ' \t\n', []];

    // Act
    const reasons = verdicts({ rule: 'required' }, values);

    // Assess
    expect(reasons).toEqual([
      ...Array(6).fill(undefined),
      'null',
      'an empty string',
      'only whitespace',
      'an empty array',
    ]);
  });

  it('accepts pragmatic email addresses', () => {
    // Prepare
    const valid = [
      'ada@example.com',
      'first.last+tag@mail.example.co.uk',
      "o'brien!#$%@x-1.io",
      'ünï@xn--bcher-kva.example',
      `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
    ];

    // Act
    const reasons = verdicts({ rule: 'email' }, valid);

    // Assess
    expect((valid.at(-1) as string).length).toBe(254);
    expect(reasons).toEqual(Array(valid.length).fill(undefined));
  });

  it('rejects what is not a pragmatic email address', () => {
    // Prepare
    const invalid = [
      'plain',
      '@example.com',
      'a@b@example.com',
      'a b@example.com',
      'a@localhost',
      'a@example..com',
      'a@-example.com',
      'a@example-.com',
      'a@exa_mple.com',
      'a@example.com.',
      'a@bü.example',
      `a@${'b'.repeat(64)}.com`,
      `${'a'.repeat(65)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
    ];

    // Act
    const reasons = verdicts({ rule: 'email' }, invalid);

    // Assess
    expect(reasons).toEqual(Array(invalid.length).fill('not an email address'));
    expect(verdicts({ rule: 'email' }, [42, null])).toEqual(['not a string (number)', 'not a string (null)']);
  });

  it('accepts E.164 phone numbers only', () => {
    // Prepare
    const values = [
      '+14155552671',
      '+12',
      '+123456789012345',
      '+1234567890123456',
      '+0123',
      '14155552671',
      '+1 415',
    ];

    // Act
    const reasons = verdicts({ rule: 'phone' }, [...values, 14155552671]);

    // Assess
    const notPhone = 'not an E.164 phone number (+ and 2 to 15 digits, no leading 0)';
    expect(reasons).toEqual([
      undefined,
      undefined,
      undefined,
      ...Array(4).fill(notPhone),
      'not a string (number)',
    ]);
  });

  it('accepts numbers and number texts below 2^53 as numeric', () => {
    // Prepare
    const values = [
      12,
      -0.5,
      '12',
      '-0.25',
      '007',
      '9007199254740991',
      '-9007199254740991.999',
      '1e3',
      ' 1',
      '+1',
      '9007199254740992',
      '-9007199254740992.000',
      '10000000000000000',
      '9'.repeat(400),
      2 ** 53 + 2,
      true,
      null,
    ];

    // Act
    const reasons = verdicts({ rule: 'numeric' }, values);

    // Assess
    const beyond = '2^53 or beyond: it may have been rounded when read';
    expect(reasons).toEqual([
      ...Array(7).fill(undefined),
      NUMBER_RULE,
      NUMBER_RULE,
      NUMBER_RULE,
      ...Array(5).fill(beyond),
      'not a number (boolean)',
      'not a number (null)',
    ]);
  });

  it('reads a number text as the number it writes', () => {
    // Act & Assess
    fc.assert(
      fc.property(fc.double({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1, noNaN: true }), (value) => {
        const text = value.toFixed(Math.abs(value) < 1e-6 ? 0 : 6);
        expect(readNumeric(text)).toEqual({ ok: true, value: Number(text) });
      }),
      { numRuns: 200 },
    );
  });

  it('checks a range, inclusive, on numbers and number texts', () => {
    // Prepare
    const values = [3, '3', 10, 7.5, 2.99, '11', 'x', [5]];

    // Act
    const both = verdicts({ rule: 'range', min: 3, max: 10 }, values);
    const minOnly = verdicts({ rule: 'range', min: 3 }, [1e15, 2]);
    const maxOnly = verdicts({ rule: 'range', max: -1 }, [-1e15, 0]);
    const neither = verdicts({ rule: 'range' }, [1, 'x']);

    // Assess
    expect(both).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      'below the minimum 3',
      'above the maximum 10',
      NUMBER_RULE,
      'not a number (array)',
    ]);
    expect(minOnly).toEqual([undefined, 'below the minimum 3']);
    expect(maxOnly).toEqual([undefined, 'above the maximum -1']);
    expect(neither).toEqual([undefined, NUMBER_RULE]);
  });

  it('checks a length in code points, not UTF-16 units', () => {
    // Prepare
    const values = [
      'abc',
      '\u{1F600}\u{1F600}\u{1F600}',
      'ab',
      'abcde',
      '\u{1F600}\u{1F600}\u{1F600}\u{1F600}',
      3,
    ];

    // Act
    const both = verdicts({ rule: 'length', min: 3, max: 3 }, values);
    const minOnly = verdicts({ rule: 'length', min: 1 }, ['', 'x'.repeat(1000)]);
    const maxOnly = verdicts({ rule: 'length', max: 2 }, ['', 'abc']);

    // Assess
    expect(both).toEqual([
      undefined,
      undefined,
      'shorter than 3 characters',
      'longer than 3 characters',
      'longer than 3 characters',
      'not a string (number)',
    ]);
    expect(minOnly).toEqual(['shorter than 1 characters', undefined]);
    expect(maxOnly).toEqual([undefined, 'longer than 2 characters']);
  });

  it('finds a match of an RE2 pattern anywhere in a string', () => {
    // Prepare
    const values = ['xaay', 'aaa', 'bbb', '', 12];

    // Act
    const anywhere = verdicts({ rule: 'regex', pattern: 'a+' }, values);
    const anchored = verdicts({ rule: 'regex', pattern: '^a+$' }, values);

    // Assess
    expect(anywhere).toEqual([
      undefined,
      undefined,
      'does not match a+',
      'does not match a+',
      'not a string (number)',
    ]);
    expect(anchored).toEqual([
      'does not match ^a+$',
      undefined,
      'does not match ^a+$',
      'does not match ^a+$',
      'not a string (number)',
    ]);
  });

  it('runs a pattern that would backtrack for ever in linear time', () => {
    // Prepare
    const check = compileCheck({ rule: 'regex', pattern: '^(a+)+$' });
    const value = `${'a'.repeat(50_000)}!`;

    // Act
    const started = performance.now();
    const reason = check(value);

    // Assess
    expect(reason).toBe('does not match ^(a+)+$');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('rejects a pattern that is not RE2 as a usage error', () => {
    // Act
    const compile = (pattern: string) => () => compileCheck({ rule: 'regex', pattern });

    // Assess
    expect(compile('(a')).toThrow(UsageError);
    expect(compile('(?=a)')).toThrow('check pattern (?=a) is not an RE2 regular expression');
  });
});
