import type { BalancerOptions } from '../core/balancer.ts';
import type { BreakerOptions } from '../core/breaker.ts';
import type { Costing } from '../core/cost/costing.ts';
import { Cloud } from '../core/cost/model.ts';
import type { Lanes } from '../core/lanes.ts';
import type { RetryOptions } from '../core/retry.ts';
import type { QueueAddress } from './queue-address.ts';
import type { Config } from './schema.ts';

/** The settings as the core's balancer, breaker and retry policy take them, for every runtime alike. */
export const balancerOptions = (config: Config): BalancerOptions => ({
  strategy: config.balancer.strategy,
  rebalanceThreshold: config.balancer.rebalance_threshold,
});

export const breakerOptions = (config: Config): BreakerOptions => ({
  failureThreshold: config.breaker.failure_threshold,
  resetTimeoutMs: config.breaker.reset_timeout_ms,
  halfOpenProbes: config.breaker.half_open_probes,
});

export const retryOptions = (config: Config): RetryOptions => ({
  maxAttempts: config.retry.max_attempts,
  baseDelayMs: config.retry.base_delay_ms,
  factor: config.retry.factor,
  maxDelayMs: config.retry.max_delay_ms,
  redistribute: config.retry.redistribute,
});

/**
 * How tries are priced: the configured prices, each target priced as the cloud its queue is on (`sqs`:
 * AWS, `pubsub`: Google Cloud) where the caller knows the queues (a cloud function), else as its
 * `cost.target_clouds` cloud (the engine, and the stats function, which has no queues).
 */
export const costing = (config: Config, queues?: Readonly<Record<string, Lanes<QueueAddress>>>): Costing => ({
  prices: config.cost.prices,
  clouds:
    queues === undefined
      ? config.cost.target_clouds
      : // A target's lanes are queues of one cloud: its high lane's says which.
        Object.fromEntries(
          Object.entries(queues).map(([target, { high }]) => [
            target,
            high.kind === 'sqs' ? Cloud.aws : Cloud.gcp,
          ]),
        ),
});
