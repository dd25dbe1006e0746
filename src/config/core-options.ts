import type { BalancerOptions } from '../core/balancer.ts';
import type { BreakerOptions } from '../core/breaker.ts';
import type { RetryOptions } from '../core/retry.ts';
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
