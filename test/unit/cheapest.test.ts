import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Balancer, type TargetOptions } from '../../src/core/balancer.ts';
import { BreakerState } from '../../src/core/breaker.ts';
import { Strategy } from '../../src/core/constants.ts';
import { chunkCostOn } from '../../src/core/cost/costing.ts';
import { LIST_COSTING } from '../support/costing.ts';

const THRESHOLD = 0.3;

/** A target whose try costs `fixed` plus `perByte` for each byte of its chunk. */
interface Priced {
  fixed: number;
  perByte: number;
  capacity: number;
  inFlight: number;
  open: boolean;
}

const pricedTarget = fc.record({
  fixed: fc.double({ min: 0, max: 1e-5, noNaN: true }),
  perByte: fc.double({ min: 0, max: 1e-9, noNaN: true }),
  capacity: fc.integer({ min: 1, max: 8 }),
  inFlight: fc.integer({ min: 0, max: 8 }),
  open: fc.boolean(),
});

const costOf = (t: Priced, bytes: number): number => t.fixed + t.perByte * bytes;

/** A balancer over the targets, each with its work in flight and its breaker open when asked. */
const balancerOf = (targets: readonly Priced[]): Balancer => {
  const options: TargetOptions[] = targets.map((t, i) => ({
    name: `t${i}`,
    weight: 1,
    capacity: t.capacity,
    cost: (bytes) => costOf(t, bytes),
  }));
  const balancer = new Balancer(
    options,
    { strategy: Strategy.cheapest, rebalanceThreshold: THRESHOLD },
    { failureThreshold: 1, resetTimeoutMs: 60_000, halfOpenProbes: 1 },
  );
  targets.forEach((t, i) => {
    const name = `t${i}`;
    if (t.open) {
      balancer.pick({ among: [name] });
      balancer.release(name, 'failure', Date.now());
    }
    for (let n = 0; n < t.inFlight; n++) balancer.pick({ among: [name], strategy: Strategy.roundRobin });
  });
  return balancer;
};

const targetsAndBytes = fc.tuple(
  fc.array(pricedTarget, { minLength: 2, maxLength: 5 }),
  fc.integer({ min: 0, max: 1 << 20 }),
);

describe('the cheapest strategy', () => {
  it('never picks a target whose breaker is open', () => {
    fc.assert(
      fc.property(targetsAndBytes, ([targets, bytes]) => {
        // Prepare
        const balancer = balancerOf(targets);
        const open = new Set(
          balancer
            .loads()
            .filter((l) => l.breaker === BreakerState.open)
            .map((l) => l.name),
        );

        // Act
        const chosen = balancer.pick({ bytes });

        // Assess
        if (open.size === targets.length) expect(chosen).toBeUndefined();
        else expect(open.has(chosen as string)).toBe(false);
      }),
    );
  });

  it('never picks a target whose load exceeds the lightest by more than the threshold', () => {
    fc.assert(
      fc.property(targetsAndBytes, ([targets, bytes]) => {
        // Prepare
        const balancer = balancerOf(targets);
        const accepting = balancer.loads().filter((l) => l.breaker !== BreakerState.open);
        fc.pre(accepting.length > 0);
        const lightest = Math.min(...accepting.map((l) => l.load));

        // Act
        const chosen = balancer.pick({ bytes });

        // Assess
        const load = accepting.find((l) => l.name === chosen)?.load as number;
        expect(load - lightest).toBeLessThanOrEqual(THRESHOLD);
      }),
    );
  });

  it('with equal health always picks the modelled minimum', () => {
    fc.assert(
      fc.property(targetsAndBytes, ([generated, bytes]) => {
        // Prepare
        const targets = generated.map((t) => ({ ...t, inFlight: 0, open: false }));
        const balancer = balancerOf(targets);
        const least = Math.min(...targets.map((t) => costOf(t, bytes)));

        // Act
        const chosen = balancer.pick({ bytes });

        // Assess
        const index = Number((chosen as string).slice(1));
        expect(costOf(targets[index] as Priced, bytes)).toBe(least);
      }),
    );
  });

  it('sends every chunk to AWS at the list prices, small or large, while AWS is healthy', () => {
    // Prepare
    const balancer = new Balancer(
      ['aws', 'gcp'].map((name) => ({
        name,
        weight: 1,
        capacity: 4,
        cost: chunkCostOn(LIST_COSTING, name),
      })),
      { strategy: Strategy.cheapest, rebalanceThreshold: THRESHOLD },
    );

    // Act
    const picks = [1024, 65_536, 1 << 20].map((bytes) => {
      const name = balancer.pick({ bytes }) as string;
      balancer.release(name, 'success', Date.now());
      return name;
    });

    // Assess
    expect(picks).toEqual(['aws', 'aws', 'aws']);
  });

  it('gives the try to the lighter target once the cheaper one is loaded past the threshold', () => {
    // Prepare
    const balancer = new Balancer(
      ['aws', 'gcp'].map((name) => ({ name, weight: 1, capacity: 4, cost: chunkCostOn(LIST_COSTING, name) })),
      { strategy: Strategy.cheapest, rebalanceThreshold: THRESHOLD },
    );
    balancer.pick({ among: ['aws'] });
    balancer.pick({ among: ['aws'] });

    // Act
    const chosen = balancer.pick({ bytes: 65_536 });

    // Assess
    expect(chosen).toBe('gcp');
  });
});
