import { describe, expect, it } from 'vitest';
import { ResourceOptionsError } from '../../src/deploy/errors.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';

describe('defineGcpResources for the deploy', () => {
  it('names one function per target, the service accounts and the workload identity pool after the prefix', () => {
    // Prepare
    const options = { prefix: 'demo', gcpTargets: ['gcp', 'gcp-eu'] };

    // Act
    const resources = defineGcpResources(options);

    // Assess
    expect(resources.function.names).toEqual({ gcp: 'demo-process-gcp', 'gcp-eu': 'demo-process-gcp-eu' });
    expect(resources.function.runtime).toBe('nodejs22');
    expect(resources.function.entryPoint).toBe('processGcp');
    expect(resources.serviceAccounts).toEqual({
      processor: 'demo-processor',
      publisher: 'demo-publisher',
      pushInvoker: 'demo-invoker',
    });
    expect(resources.workloadIdentity).toEqual({ pool: 'demo-aws', provider: 'aws-functions' });
  });

  it('bounds the instances of a function by maxConcurrentTasks, 10 by default', () => {
    // Act
    const defaults = defineGcpResources({});
    const chosen = defineGcpResources({ maxConcurrentTasks: 3 });

    // Assess
    expect(defaults.function.maxInstances).toBe(10);
    expect(chosen.function.maxInstances).toBe(3);
  });

  it.each([[0], [1001], [2.5]])('refuses maxConcurrentTasks %j and names it', (maxConcurrentTasks) => {
    // Act
    const define = () => defineGcpResources({ maxConcurrentTasks });

    // Assess
    expect(define).toThrow(ResourceOptionsError);
    expect(define).toThrow(/maxConcurrentTasks/);
  });

  it.each([
    ['the default hour', undefined, 3600],
    ['a TTL under 10 minutes, raised to them', 60, 600],
    ['a day', 86_400, 86_400],
    ['a TTL over 31 days, cut to them', 90 * 86_400, 31 * 86_400],
  ])('keeps messages on each topic for jobs.ttl_seconds: %s', (_, jobTtlSeconds, expected) => {
    // Act
    const resources = defineGcpResources(jobTtlSeconds === undefined ? {} : { jobTtlSeconds });

    // Assess
    expect(resources.targets.map((target) => target.topicRetentionSeconds)).toEqual([expected]);
  });
});
