import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BreakerOptions, CircuitBreaker, MAX_BREAKER_CHANGES } from '../../src/core/breaker.ts';

/** A breaker on a clock the test moves by hand. */
const breakerAt = (options: Partial<BreakerOptions> = {}) => {
  const clock = { now: 1_000 };
  const breaker = new CircuitBreaker(
    { failureThreshold: 3, resetTimeoutMs: 2_000, halfOpenProbes: 1, ...options },
    () => clock.now,
  );
  return { breaker, clock };
};

/** Fails work sent now until the breaker opens. */
const open = (breaker: CircuitBreaker, now: number): void => {
  for (let i = 0; i < breaker.options.failureThreshold; i++) breaker.onFailure(now);
};

describe('CircuitBreaker', () => {
  it('opens after failureThreshold consecutive failures, and not before', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    breaker.onFailure(clock.now);
    breaker.onFailure(clock.now);
    const before = breaker.state;

    // Act
    breaker.onFailure(clock.now);

    // Assess
    expect(before).toBe('closed');
    expect(breaker.state).toBe('open');
    expect(breaker.opened).toBe(1);
  });

  it('opens on the tenth consecutive failure by default', () => {
    // Prepare
    const breaker = new CircuitBreaker({}, () => 0);
    for (let i = 0; i < 9; i++) breaker.onFailure(0);
    const before = breaker.state;

    // Act
    breaker.onFailure(0);

    // Assess
    expect(before).toBe('closed');
    expect(breaker.state).toBe('open');
  });

  it('starts counting again after a success', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    breaker.onFailure(clock.now);
    breaker.onFailure(clock.now);

    // Act
    breaker.onSuccess(clock.now);
    breaker.onFailure(clock.now);
    breaker.onFailure(clock.now);

    // Assess
    expect(breaker.state).toBe('closed');
    expect(breaker.canAccept()).toBe(true);
    expect(breaker.opened).toBe(0);
  });

  it('refuses work while open, until the reset timeout has passed', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    open(breaker, clock.now);

    // Act
    clock.now += 1_999;
    const accepts = breaker.canAccept();

    // Assess
    expect(accepts).toBe(false);
    expect(breaker.state).toBe('open');
    expect(breaker.reopensAt).toBe(3_000);
  });

  it('half-opens once the reset timeout has passed', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    open(breaker, clock.now);

    // Act
    clock.now += 2_000;

    // Assess
    expect(breaker.state).toBe('half_open');
    expect(breaker.canAccept()).toBe(true);
  });

  it('lets halfOpenProbes probes through while half-open, and no more', () => {
    // Prepare
    const { breaker, clock } = breakerAt({ halfOpenProbes: 2 });
    open(breaker, clock.now);
    clock.now += 2_000;
    const accepted: boolean[] = [];

    // Act
    for (let i = 0; i < 3; i++) {
      accepted.push(breaker.canAccept());
      breaker.onDispatch();
    }

    // Assess
    expect(accepted).toEqual([true, true, false]);
  });

  it('closes when a probe succeeds', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    open(breaker, clock.now);
    clock.now += 2_000;
    breaker.onDispatch();

    // Act
    breaker.onSuccess(clock.now);

    // Assess
    expect(breaker.state).toBe('closed');
    expect(breaker.canAccept()).toBe(true);
  });

  it('opens again when a probe fails, for another reset timeout', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    open(breaker, clock.now);
    clock.now += 2_500;
    breaker.onDispatch();

    // Act
    breaker.onFailure(clock.now);

    // Assess
    expect(breaker.state).toBe('open');
    expect(breaker.canAccept()).toBe(false);
    expect(breaker.opened).toBe(2);
    expect(breaker.reopensAt).toBe(5_500);
  });

  it('ignores outcomes of work sent before it last opened or half-opened', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    const sentBeforeOpening = clock.now - 10;
    open(breaker, clock.now);
    clock.now += 2_000;
    const halfOpen = breaker.state;

    // Act
    breaker.onFailure(sentBeforeOpening);
    const afterLateFailure = breaker.state;
    breaker.onSuccess(sentBeforeOpening);
    const afterLateSuccess = breaker.state;

    // Assess
    expect(halfOpen).toBe('half_open');
    expect(afterLateFailure).toBe('half_open');
    expect(afterLateSuccess).toBe('half_open');
    expect(breaker.opened).toBe(1);
  });

  it('does not let a late burst of failures keep it open past the reset timeout', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    const sent = clock.now - 1;
    open(breaker, clock.now);

    // Act
    clock.now += 1_000;
    open(breaker, sent);
    clock.now += 1_000;

    // Assess
    expect(breaker.state).toBe('half_open');
    expect(breaker.opened).toBe(1);
  });

  it('restores from its snapshot with the same state, failures and stale-outcome cutoff', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    const sentBeforeOpening = clock.now - 1;
    open(breaker, clock.now);
    const copy = breakerAt().breaker;

    // Act
    copy.restore(breaker.snapshot());
    copy.onSuccess(sentBeforeOpening);

    // Assess
    expect(copy.snapshot()).toEqual(breaker.snapshot());
    expect(copy.state).toBe('open');
    expect(copy.canAccept()).toBe(false);
  });

  it('restores a closed breaker that never opened without a stale-outcome cutoff', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    breaker.onFailure(clock.now);
    const copy = breakerAt().breaker;

    // Act
    copy.restore(breaker.snapshot());
    copy.onFailure(clock.now);
    copy.onFailure(clock.now);

    // Assess
    expect(breaker.snapshot()).toEqual({ state: 'closed', failures: 1, openedAt: 0, opened: 0 });
    expect(copy.state).toBe('open');
  });

  it('records each change of state with when it happened, the half-open one when it came due', () => {
    // Prepare
    const { breaker, clock } = breakerAt();
    open(breaker, clock.now);
    clock.now += 2_500;

    // Act
    breaker.onDispatch();
    breaker.onFailure(clock.now);
    clock.now += 2_000;
    breaker.onSuccess(clock.now);

    // Assess
    expect(breaker.snapshot().changes).toEqual([
      { at: 1_000, from: 'closed', to: 'open' },
      { at: 3_000, from: 'open', to: 'half_open' },
      { at: 3_500, from: 'half_open', to: 'open' },
      { at: 5_500, from: 'open', to: 'half_open' },
      { at: 5_500, from: 'half_open', to: 'closed' },
    ]);
  });

  it('keeps its changes through a snapshot, and only the last MAX_BREAKER_CHANGES', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * MAX_BREAKER_CHANGES }), (outages) => {
        // Prepare
        const { breaker, clock } = breakerAt();
        for (let i = 0; i < outages; i++) {
          open(breaker, clock.now);
          clock.now += 2_000;
          breaker.onSuccess(clock.now);
        }
        const copy = breakerAt().breaker;

        // Act
        copy.restore(breaker.snapshot());

        // Assess
        const changes = copy.snapshot().changes ?? [];
        expect(changes).toHaveLength(Math.min(3 * outages, MAX_BREAKER_CHANGES));
        expect(changes.map((c) => c.at)).toEqual(changes.map((c) => c.at).toSorted((a, b) => a - b));
        expect(changes.every((c, i) => i === 0 || c.from === changes[i - 1]?.to)).toBe(true);
        expect(changes.at(-1)?.to ?? 'closed').toBe('closed');
      }),
      { numRuns: 30 },
    );
  });
});
