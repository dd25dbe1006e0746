import { describe, expect, it } from 'vitest';
import { Balancer, type BalancerOptions, type TargetOptions } from '../../src/core/balancer.ts';

const target = (name: string, options: Partial<TargetOptions> = {}): TargetOptions => ({
  name,
  weight: 1,
  capacity: 10,
  ...options,
});

const roundRobin: BalancerOptions = { strategy: 'round_robin', rebalanceThreshold: 0.3 };

/** Picks `n` times, releasing each piece of work as a success before the next pick. */
const pickReleasing = (balancer: Balancer, n: number): (string | undefined)[] =>
  Array.from({ length: n }, () => {
    const name = balancer.pick();
    if (name !== undefined) balancer.release(name, 'success', 0);
    return name;
  });

/** A balancer whose breakers open on the first failure, on a clock the test moves by hand. */
const fragile = (names: string[]) => {
  const clock = { now: 1_000 };
  const balancer = new Balancer(
    names.map((name) => target(name)),
    roundRobin,
    { failureThreshold: 1, resetTimeoutMs: 5_000, halfOpenProbes: 1 },
    { now: () => clock.now },
  );
  /** Sends work to `name` and fails it, so that its breaker opens. */
  const fail = (name: string) => {
    balancer.pick({ among: [name] });
    balancer.release(name, 'failure', clock.now);
  };
  return { balancer, clock, fail };
};

describe('Balancer strategies', () => {
  it('round_robin alternates between targets', () => {
    // Prepare
    const balancer = new Balancer([target('aws'), target('gcp')], roundRobin);

    // Act
    const picks = pickReleasing(balancer, 4);

    // Assess
    expect(picks).toEqual(['aws', 'gcp', 'aws', 'gcp']);
  });

  it('weighted gives each target its exact share, evenly interleaved', () => {
    // Prepare
    const balancer = new Balancer([target('aws', { weight: 3 }), target('gcp', { weight: 1 })], {
      strategy: 'weighted',
      rebalanceThreshold: 0.3,
    });

    // Act
    const picks = pickReleasing(balancer, 8);

    // Assess
    expect(picks.filter((p) => p === 'aws')).toHaveLength(6);
    expect(picks.filter((p) => p === 'gcp')).toHaveLength(2);
    expect(picks).toEqual(['aws', 'aws', 'gcp', 'aws', 'aws', 'aws', 'gcp', 'aws']);
  });

  it('random picks the target the injected random number points at', () => {
    // Prepare
    const draws = [0.1, 0.9, 0.5, 0.4];
    const balancer = new Balancer(
      [target('aws'), target('gcp')],
      { strategy: 'random', rebalanceThreshold: 1 },
      {},
      { random: () => draws.shift() ?? 0 },
    );

    // Act
    const picks = pickReleasing(balancer, 4);

    // Assess
    expect(picks).toEqual(['aws', 'gcp', 'gcp', 'aws']);
  });

  it('least_loaded picks the lowest in-flight work over capacity', () => {
    // Prepare
    const balancer = new Balancer([target('aws', { capacity: 2 }), target('gcp', { capacity: 8 })], {
      strategy: 'least_loaded',
      rebalanceThreshold: 0.3,
    });

    // Act
    const picks = Array.from({ length: 5 }, () => balancer.pick());

    // Assess
    // aws 0/2, gcp 0/8 -> aws; then gcp 0/8 < aws 1/2 until gcp reaches 4/8 = aws's 1/2.
    expect(picks).toEqual(['aws', 'gcp', 'gcp', 'gcp', 'gcp']);
    expect(balancer.loads().map((l) => l.load)).toEqual([0.5, 0.5]);
  });

  it('least_loaded takes turns among equally loaded targets', () => {
    // Prepare
    const balancer = new Balancer([target('aws'), target('gcp')], {
      strategy: 'least_loaded',
      rebalanceThreshold: 0.3,
    });

    // Act
    const picks = pickReleasing(balancer, 4);

    // Assess
    expect(picks).toEqual(['aws', 'gcp', 'aws', 'gcp']);
  });

  it('rebalances to the lightest target when the chosen one is more loaded by over the threshold', () => {
    // Prepare
    const targets = [target('aws', { capacity: 1 }), target('gcp', { capacity: 10 })];
    const eager = new Balancer(targets, { strategy: 'round_robin', rebalanceThreshold: 0.3 });
    const lax = new Balancer(targets, { strategy: 'round_robin', rebalanceThreshold: 1 });

    // Act
    const eagerPicks = Array.from({ length: 3 }, () => eager.pick());
    const laxPicks = Array.from({ length: 3 }, () => lax.pick());

    // Assess
    // The third pick is aws's turn, but aws is at 1/1 while gcp is at 1/10: a 0.9 gap.
    expect(eagerPicks).toEqual(['aws', 'gcp', 'gcp']);
    expect(laxPicks).toEqual(['aws', 'gcp', 'aws']);
  });
});

describe('Balancer.pick requests', () => {
  it('passes over the target to avoid when another one accepts work', () => {
    // Prepare
    const balancer = new Balancer([target('aws'), target('gcp')], roundRobin);

    // Act
    const picks = Array.from({ length: 3 }, () => balancer.pick({ avoid: 'aws' }));

    // Assess
    expect(picks).toEqual(['gcp', 'gcp', 'gcp']);
  });

  it('picks the target to avoid when no other one accepts work', () => {
    // Prepare
    const { balancer, fail } = fragile(['aws', 'gcp']);
    fail('gcp');

    // Act
    const picked = balancer.pick({ avoid: 'aws' });

    // Assess
    expect(picked).toBe('aws');
  });

  it('chooses only among the targets given', () => {
    // Prepare
    const balancer = new Balancer([target('aws'), target('gcp'), target('azure')], roundRobin);

    // Act
    const picks = Array.from({ length: 4 }, () => balancer.pick({ among: ['gcp', 'azure'] }));

    // Assess
    expect(picks).toEqual(['gcp', 'azure', 'gcp', 'azure']);
  });

  it('uses the strategy of the request over its own', () => {
    // Prepare
    const balancer = new Balancer([target('aws', { capacity: 1 }), target('gcp', { capacity: 100 })], {
      strategy: 'round_robin',
      rebalanceThreshold: 1,
    });
    const before = [balancer.pick(), balancer.pick()];

    // Act
    const picked = balancer.pick({ strategy: 'least_loaded' });

    // Assess
    // Round robin would have gone back to aws, which is full.
    expect(before).toEqual(['aws', 'gcp']);
    expect(picked).toBe('gcp');
  });
});

describe('Balancer with breakers', () => {
  it('gives no work to a target whose breaker is open', () => {
    // Prepare
    const { balancer, fail } = fragile(['aws', 'gcp']);
    fail('aws');

    // Act
    const picks = pickReleasing(balancer, 4);

    // Assess
    expect(picks).toEqual(['gcp', 'gcp', 'gcp', 'gcp']);
    expect(balancer.loads().find((l) => l.name === 'aws')).toMatchObject({
      breaker: 'open',
      breakerOpened: 1,
    });
  });

  it('picks nothing when every breaker is open, and tells when the first probe may go', () => {
    // Prepare
    const { balancer, clock, fail } = fragile(['aws', 'gcp']);
    fail('aws');
    clock.now += 1_000;
    fail('gcp');

    // Act
    const picked = balancer.pick();

    // Assess
    expect(picked).toBeUndefined();
    expect(balancer.nextProbeAt()).toBe(6_000);
    expect(balancer.nextProbeAt(['gcp'])).toBe(7_000);
  });

  it('sends a probe to a target once its breaker half-opens', () => {
    // Prepare
    const { balancer, clock, fail } = fragile(['aws']);
    fail('aws');
    clock.now = balancer.nextProbeAt();

    // Act
    const probe = balancer.pick();
    const second = balancer.pick();

    // Assess
    expect(probe).toBe('aws');
    expect(second).toBeUndefined();
  });

  it('takes probes again after a half-open probe ends neutral (a bad chunk)', () => {
    // Prepare
    const { balancer, clock, fail } = fragile(['aws']);
    fail('aws');
    clock.now = balancer.nextProbeAt();
    const probedAt = clock.now;
    balancer.pick();
    balancer.release('aws', 'neutral', probedAt);
    clock.now += 60_000;

    // Act
    const picked = balancer.pick();

    // Assess
    expect(picked).toBe('aws');
  });
});

describe('Balancer.accepts and retryAfterMs', () => {
  it('accepts work while one of the targets asked about has a breaker that is not open', () => {
    // Prepare
    const { balancer, fail } = fragile(['aws', 'gcp']);
    fail('aws');

    // Act
    const answers = [balancer.accepts(['aws', 'gcp']), balancer.accepts(['aws']), balancer.accepts(['gcp'])];

    // Assess
    expect(answers).toEqual([true, false, true]);
  });

  it('says to retry when the first open breaker among the targets lets a probe through', () => {
    // Prepare
    const { balancer, clock, fail } = fragile(['aws', 'gcp']);
    fail('aws');
    clock.now += 1_000;
    fail('gcp');

    // Act
    const wait = balancer.retryAfterMs(['aws', 'gcp'], clock.now);

    // Assess
    expect(wait).toBe(4_000);
  });

  it('says to retry after one reset timeout when no breaker is open (the targets refused all the same)', () => {
    // Prepare
    const { balancer, clock } = fragile(['aws', 'gcp']);

    // Act
    const wait = balancer.retryAfterMs(['aws', 'gcp'], clock.now);

    // Assess
    expect(wait).toBe(5_000);
  });
});

describe('Balancer.release', () => {
  it('takes the work off the in-flight count of its target', () => {
    // Prepare
    const balancer = new Balancer([target('aws'), target('gcp')], roundRobin);
    const picks = [balancer.pick(), balancer.pick(), balancer.pick()];

    // Act
    balancer.release('aws', 'success', 0);

    // Assess
    expect(picks).toEqual(['aws', 'gcp', 'aws']);
    expect(balancer.loads().map((l) => [l.name, l.inFlight])).toEqual([
      ['aws', 1],
      ['gcp', 1],
    ]);
  });

  it('refuses an unknown target', () => {
    // Prepare
    const balancer = new Balancer([target('aws')], roundRobin);

    // Act
    const release = () => balancer.release('azure', 'success', 0);

    // Assess
    expect(release).toThrow(RangeError);
  });
});
