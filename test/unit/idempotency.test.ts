import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import {
  holdsKey,
  IDEMPOTENCY,
  type IdempotencyRecord,
  idempotencyDecision,
  parseIdempotencyKey,
} from '../../src/core/idempotency.ts';

const T0 = 1_700_000_000_000;
const record = (overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
  key: 'k',
  fingerprint: 'f',
  owner: 'first',
  leaseUntil: T0 + IDEMPOTENCY.leaseMs,
  expiresAt: T0 + IDEMPOTENCY.windowMs,
  ...overrides,
});

describe('parseIdempotencyKey', () => {
  it.each([
    ['a structured-field string', '"8e03978e-40d5"', '8e03978e-40d5'],
    ['one with escapes', '"a\\"b\\\\c"', 'a"b\\c'],
    ['one with spaces inside', '" a b "', ' a b '],
    ['a bare token', '8e03978e-40d5', '8e03978e-40d5'],
    ['a bare token with spaces around', '  abc  ', 'abc'],
  ])('takes %s', (_, header, key) => {
    // Act
    const parsed = parseIdempotencyKey(header);

    // Assess
    expect(parsed).toBe(key);
  });

  it('finds no key when there is no header', () => {
    // Act
    const parsed = parseIdempotencyKey(undefined);

    // Assess
    expect(parsed).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['an empty string', '""'],
    ['unterminated', '"abc'],
    ['a lone escape', '"a\\b"'],
    ['non-ASCII', '"clé"'],
    ['a list', '"a", "b"'],
    ['too long', `"${'k'.repeat(IDEMPOTENCY.maxKeyLength + 1)}"`],
  ])('refuses a key that is %s', (_, header) => {
    // Act
    const act = () => parseIdempotencyKey(header);

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(/Idempotency-Key must be a quoted string/);
  });

  it(`takes a key of ${IDEMPOTENCY.maxKeyLength} characters`, () => {
    // Act
    const parsed = parseIdempotencyKey(`"${'k'.repeat(IDEMPOTENCY.maxKeyLength)}"`);

    // Assess
    expect(parsed).toHaveLength(IDEMPOTENCY.maxKeyLength);
  });
});

describe('holdsKey', () => {
  it.each([
    ['while its request stores, within the lease', record(), T0 + 1, true],
    ['once its lease ran out with no job', record(), T0 + IDEMPOTENCY.leaseMs, false],
    ['with its job, past the lease', record({ jobId: 'j' }), T0 + IDEMPOTENCY.leaseMs + 1, true],
    ['with its job, past the window', record({ jobId: 'j' }), T0 + IDEMPOTENCY.windowMs, false],
  ])('holds a key %s: %s', (_, held, now, holds) => {
    // Act
    const result = holdsKey(held, now);

    // Assess
    expect(result).toBe(holds);
  });
});

describe('idempotencyDecision', () => {
  it.each([
    ['proceed', 'the claim is its own', record(), 'first', 'f'],
    ['mismatch', 'another request asked something else', record({ jobId: 'j' }), 'second', 'other'],
    ['mismatch', 'another request still storing asked something else', record(), 'second', 'other'],
    ['in-progress', 'the same request is still storing', record(), 'second', 'f'],
    ['replay', 'the same request made its job', record({ jobId: 'j' }), 'second', 'f'],
  ] as const)('is %s when %s', (decision, _, held, owner, fingerprint) => {
    // Act
    const result = idempotencyDecision(held, owner, fingerprint);

    // Assess
    expect(result).toBe(decision);
  });
});
