import { describe, expect, it } from 'vitest';
import { ResourceOptionsError } from '../../src/deploy/errors.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';

describe('defineGcpResources for the deploy', () => {
  it('names a topic, a subscription and a function per lane of each target, the service accounts and the workload identity pool after the prefix', () => {
    // Prepare
    const options = { prefix: 'demo', gcpTargets: ['gcp', 'gcp-eu'] };

    // Act
    const resources = defineGcpResources(options);

    // Assess
    expect(resources.targets.map((target) => target.lanes.high)).toEqual([
      {
        lane: 'high',
        topic: 'demo-gcp-high',
        subscription: 'demo-gcp-high',
        functionName: 'demo-process-gcp-high',
        maxInstances: 6,
      },
      {
        lane: 'high',
        topic: 'demo-gcp-eu-high',
        subscription: 'demo-gcp-eu-high',
        functionName: 'demo-process-gcp-eu-high',
        maxInstances: 6,
      },
    ]);
    expect(Object.values(resources.targets[1]?.lanes ?? {}).map((lane) => lane.functionName)).toEqual([
      'demo-process-gcp-eu-high',
      'demo-process-gcp-eu-medium',
      'demo-process-gcp-eu-low',
    ]);
    expect(resources.function.runtime).toBe('nodejs22');
    expect(resources.function.entryPoint).toBe('processGcp');
    expect(resources.serviceAccounts).toEqual({
      processor: 'demo-processor',
      publisher: 'demo-publisher',
      pushInvoker: 'demo-invoker',
    });
    expect(resources.workloadIdentity).toEqual({ pool: 'demo-aws', provider: 'aws-functions' });
  });

  it.each([
    ['the default 60/30/10 of 10', {}, { high: 6, medium: 3, low: 1 }],
    [
      '50/30/20 of 20',
      { maxConcurrentTasks: 20, laneShares: { high: 50, medium: 30, low: 20 } },
      { high: 10, medium: 6, low: 4 },
    ],
    ['60/30/10 of 7, rounded to whole instances', { maxConcurrentTasks: 7 }, { high: 4, medium: 2, low: 1 }],
    [
      '34/33/33 of 3, an instance each',
      { maxConcurrentTasks: 3, laneShares: { high: 34, medium: 33, low: 33 } },
      { high: 1, medium: 1, low: 1 },
    ],
  ])("splits maxConcurrentTasks between the lanes' functions by laneShares: %s", (_, options, expected) => {
    // Act
    const [target] = defineGcpResources(options).targets;

    // Assess
    const instances = Object.fromEntries(
      Object.values(target?.lanes ?? {}).map((lane) => [lane.lane, lane.maxInstances]),
    );
    expect(instances).toEqual(expected);
  });

  it('names every misconfiguration in one error', () => {
    // Act
    const define = () =>
      defineGcpResources({
        maxConcurrentTasks: 0,
        laneShares: { high: 50, medium: 30, low: 10 },
        prefix: 'goog',
      });

    // Assess
    expect(define).toThrow(ResourceOptionsError);
    expect(define).toThrow(
      'prefix: Pub/Sub names may not start with "goog"; maxConcurrentTasks: Too small: expected number to be >=1; laneShares: the shares of high, medium and low must sum to 100',
    );
  });

  it("refuses a split that leaves a lane's function no instance, naming what to raise", () => {
    // Act
    const define = () => defineGcpResources({ maxConcurrentTasks: 5 });

    // Assess
    expect(define).toThrow(
      "laneShares.low: the low lane's function gets no instance of maxConcurrentTasks 5: raise maxConcurrentTasks to 10 or the low share",
    );
  });

  it('refuses an unknown lane and names it', () => {
    // Act
    const define = () => defineGcpResources({ laneShares: { high: 60, medium: 30, urgent: 10 } as never });

    // Assess
    expect(define).toThrow(/laneShares: Unrecognized key: "urgent"/);
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
