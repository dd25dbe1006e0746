import { describe, expect, it } from 'vitest';
import { checkDelivery, type DeliveryFacts } from '../../src/core/delivery-check.ts';
import type { TryMessage } from '../../src/core/settlement.ts';
import { seededRandom } from '../support/prng.ts';

const NOW = 1_000_000;
const GRACE = 60_000;
const SHA = 'ab'.repeat(32);

const message = (
  overrides: Partial<TryMessage & { input: string }> = {},
): TryMessage & { input: string } => ({
  jobId: 'job-1',
  index: 3,
  attempt: 1,
  routedAt: NOW - 1000,
  sha256: SHA,
  bytes: 10,
  input: 'seg:30:10',
  ...overrides,
});

const facts = (overrides: Partial<DeliveryFacts> = {}): DeliveryFacts => ({
  maxAttempts: 4,
  total: 9,
  recorded: { sha256: SHA, bytes: 10, input: 'seg:30:10' },
  ...overrides,
});

const check = (m: TryMessage & { input?: string }, f: DeliveryFacts | undefined) =>
  checkDelivery(m, { facts: f, now: NOW, graceMs: GRACE });

describe('checkDelivery', () => {
  it('runs a delivery that matches its chunk, within its attempt budget', () => {
    // Act
    const verdict = check(message({ attempt: 4 }), facts());

    // Assess
    expect(verdict).toEqual({ kind: 'run' });
  });

  it.each([
    ['an index at the total', message({ index: 9 }), /chunk 9 is beyond the job's 9 chunks/],
    ['an index far beyond it', message({ index: 999_999 }), /beyond the job's 9 chunks/],
    ['a try beyond the budget', message({ attempt: 5 }), /try 5 is beyond the job's 4 tries/],
    ['another digest', message({ sha256: 'cd'.repeat(32) }), /another digest/],
    ['another size', message({ bytes: 11 }), /11 bytes, not 10/],
    ['another input ref', message({ input: 'seg:0:10' }), /another input/],
  ])('refuses %s at once, whatever its routedAt', (_, m, reason) => {
    // Act
    const verdict = check(m, facts());

    // Assess
    expect(verdict.kind).toBe('refuse');
    expect(verdict.kind !== 'run' && verdict.reason).toMatch(reason);
  });

  it('holds a delivery of an unknown job within the grace, and refuses it after', () => {
    // Act
    const fresh = check(message({ routedAt: NOW - GRACE + 1 }), undefined);
    const stale = check(message({ routedAt: NOW - GRACE }), undefined);

    // Assess
    expect(fresh).toEqual({ kind: 'wait', reason: 'job job-1 is not known' });
    expect(stale).toEqual({ kind: 'refuse', reason: 'job job-1 is not known' });
  });

  it('holds a chunk no segment holds yet while the total is unknown, and refuses it after the grace', () => {
    // Prepare
    const ingesting = facts({ total: undefined, recorded: undefined });
    const { total: _t, recorded: _r, ...withoutRecords } = ingesting;

    // Act
    const fresh = check(message(), withoutRecords);
    const stale = check(message({ routedAt: 0 }), withoutRecords);

    // Assess
    expect(fresh.kind).toBe('wait');
    expect(stale).toEqual({ kind: 'refuse', reason: 'chunk 3 is in no segment of the job' });
  });

  it('holds a message routed in the future only within the grace: a forged routedAt buys no more', () => {
    // Act
    const verdict = check(message({ routedAt: NOW + 10 * GRACE }), undefined);

    // Assess
    expect(verdict.kind).toBe('refuse');
  });

  it('runs exactly the deliveries that match their chunk, over 5,000 random ones', () => {
    // Prepare
    const random = seededRandom(20);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;

    for (let i = 0; i < 5000; i++) {
      const m = message({
        index: pick([0, 3, 8, 9, 10, 999_999]),
        attempt: pick([1, 2, 4, 5, 100]),
        bytes: pick([10, 11]),
        sha256: pick([SHA, 'cd'.repeat(32)]),
        input: pick(['seg:30:10', 'seg:0:10']),
        routedAt: NOW - pick([0, GRACE - 1, GRACE, 10 * GRACE]),
      });
      const f = pick([undefined, facts(), facts({ total: undefined }), facts({ recorded: undefined })]);

      // Act
      const verdict = check(m, f);

      // Assess
      const belongs =
        f !== undefined &&
        m.attempt <= f.maxAttempts &&
        (f.total === undefined || m.index < f.total) &&
        f.recorded !== undefined &&
        m.sha256 === SHA &&
        m.bytes === 10 &&
        m.input === 'seg:30:10';
      expect(verdict.kind === 'run').toBe(belongs);
      if (verdict.kind === 'wait') expect(NOW - m.routedAt).toBeLessThan(GRACE);
    }
  });
});
