import { describe, expect, it } from 'vitest';
import type { ErrorRecord } from '../../src/core/errors.ts';
import { DEFAULT_RETRY, RetryPolicy } from '../../src/core/retry.ts';

const transient: ErrorRecord = { name: 'TransientError', message: 'flaky', retryable: true };
const poisoned: ErrorRecord = { name: 'PoisonChunkError', message: 'bad chunk', retryable: false };

describe('RetryPolicy.ceilingMs', () => {
  it('grows as base * factor^(attempt - 1) until it reaches the cap', () => {
    // Prepare
    const policy = new RetryPolicy({ baseDelayMs: 100, factor: 3, maxDelayMs: 5000 });

    // Act
    const ceilings = [1, 2, 3, 4, 5, 6].map((attempt) => policy.ceilingMs(attempt));

    // Assess
    expect(ceilings).toEqual([100, 300, 900, 2700, 5000, 5000]);
  });

  it('uses 100 ms doubling up to 10 s by default', () => {
    // Prepare
    const policy = new RetryPolicy();

    // Act
    const ceilings = [1, 2, 3, 8, 20].map((attempt) => policy.ceilingMs(attempt));

    // Assess
    expect(ceilings).toEqual([100, 200, 400, 10_000, 10_000]);
  });
});

describe('RetryPolicy.backoffMs', () => {
  it('waits 0 ms when the random draw is 0', () => {
    // Prepare
    const policy = new RetryPolicy({}, () => 0);

    // Act
    const waits = [1, 2, 3].map((attempt) => policy.backoffMs(attempt));

    // Assess
    expect(waits).toEqual([0, 0, 0]);
  });

  it('waits just under the ceiling when the random draw is just under 1', () => {
    // Prepare
    const policy = new RetryPolicy({ baseDelayMs: 100, factor: 2, maxDelayMs: 1000 }, () => 0.999_999);

    // Act
    const waits = [1, 2, 3, 4, 5].map((attempt) => policy.backoffMs(attempt));

    // Assess
    expect(waits).toEqual([99, 199, 399, 799, 999]);
  });

  it('scales the ceiling by the random draw (full jitter)', () => {
    // Prepare
    const policy = new RetryPolicy({ baseDelayMs: 100, factor: 2 }, () => 0.5);

    // Act
    const wait = policy.backoffMs(3);

    // Assess
    expect(wait).toBe(200);
  });
});

describe('RetryPolicy.decide', () => {
  it('never retries a permanent failure, even on the first try', () => {
    // Prepare
    const policy = new RetryPolicy();

    // Act
    const decision = policy.decide(poisoned, 1);

    // Assess
    expect(decision).toEqual({ retry: false, reason: 'permanent' });
  });

  it('retries a retryable failure after its backoff while tries remain', () => {
    // Prepare
    const policy = new RetryPolicy({ baseDelayMs: 100, factor: 2 }, () => 0.5);

    // Act
    const decision = policy.decide(transient, 2);

    // Assess
    expect(decision).toEqual({ retry: true, delayMs: 100 });
  });

  it('gives up as exhausted once the try number reaches maxAttempts', () => {
    // Prepare
    const policy = new RetryPolicy({ maxAttempts: 2 });

    // Act
    const decisions = [1, 2, 3].map((attempt) => policy.decide(transient, attempt));

    // Assess
    expect(decisions.map((d) => d.retry)).toEqual([true, false, false]);
    expect(decisions[1]).toEqual({ retry: false, reason: 'exhausted' });
  });

  it('allows 4 tries in all by default', () => {
    // Prepare
    const policy = new RetryPolicy();

    // Act
    const decisions = [1, 2, 3, 4].map((attempt) => policy.decide(transient, attempt));

    // Assess
    expect(DEFAULT_RETRY.maxAttempts).toBe(4);
    expect(decisions.map((d) => d.retry)).toEqual([true, true, true, false]);
    expect(decisions[3]).toEqual({ retry: false, reason: 'exhausted' });
  });
});
