import { describe, expect, it } from 'vitest';
import { PRIORITIES } from '../../src/core/constants.ts';
import { ResourceOptionsError } from '../../src/deploy/errors.ts';
import { dataLifecycle, defineResources } from '../../src/deploy/resources.ts';

describe('defineResources', () => {
  it('names every resource after the default prefix and the one default target', () => {
    // Prepare
    const options = {};

    // Act
    const resources = defineResources(options);

    // Assess
    expect(resources.table).toEqual({
      name: 'fanout-tasks',
      partitionKey: 'pk',
      sortKey: 'sk',
      ttlAttribute: 'expiresAt',
      streamView: 'NEW_AND_OLD_IMAGES',
      jobsIndex: { name: 'jobs-by-created', partitionKey: 'listPk', sortKey: 'listSk' },
    });
    expect(resources.bucket.name).toBe('fanout-data');
    expect(resources.queues.map((q) => [q.target, q.lanes.high.name, q.deadLetterName])).toEqual([
      ['aws', 'fanout-aws-high', 'fanout-aws-dlq'],
    ]);
    expect(resources.jobTtlSeconds).toBe(3600);
  });

  it('gives each target a queue whose visibility is six function timeouts and a lease of the difference', () => {
    // Prepare
    const options = { prefix: 'demo', awsTargets: ['aws', 'aws-east'], processorTimeoutSeconds: 30 };

    // Act
    const resources = defineResources(options);

    // Assess
    expect(resources.queues.map((q) => q.lanes.low.name)).toEqual(['demo-aws-low', 'demo-aws-east-low']);
    expect(resources.queues.every((q) => q.visibilityTimeoutSeconds === 180)).toBe(true);
    expect(resources.processor.timeoutSeconds).toBe(30);
    expect(resources.processor.leaseMs).toBe(150_000);
    expect(resources.queues[0]?.maxReceiveCount).toBe(5);
  });

  it('batches the stats stream widely: a batch costs the same reads and transaction whatever its size', () => {
    // Act
    const { stats } = defineResources({});

    // Assess
    expect(stats).toEqual({ batchSize: 1000, maxBatchingWindowSeconds: 5, retryAttempts: 3 });
  });

  it('keeps dead letters longer than the queue keeps messages', () => {
    // Prepare
    const options = {};

    // Act
    const [queue] = defineResources(options).queues;

    // Assess
    expect(queue?.deadLetterRetentionSeconds).toBe(14 * 24 * 3600);
    expect(queue?.deadLetterRetentionSeconds).toBeGreaterThan(queue?.messageRetentionSeconds ?? Infinity);
  });

  it.each([
    [{ prefix: 'Fanout' }, 'prefix'],
    [{ prefix: 'fanout-' }, 'prefix'],
    [{ prefix: 'x'.repeat(41) }, 'prefix'],
    [{ awsTargets: [] }, 'awsTargets'],
    [{ awsTargets: ['aws', 'aws'] }, 'awsTargets'],
    [{ awsTargets: ['AWS'] }, 'awsTargets.0'],
    [{ processorTimeoutSeconds: 901 }, 'processorTimeoutSeconds'],
    [{ processorTimeoutSeconds: 1.5 }, 'processorTimeoutSeconds'],
    [{ prefx: 'fanout' }, 'prefx'],
    [{ maxConcurrentTasks: 1 }, 'maxConcurrentTasks'],
    [{ laneShares: { high: 60, medium: 30, low: 20 } }, 'laneShares'],
    [{ laneShares: { high: 60, medium: 40 } }, 'laneShares.low'],
    [{ maxConcurrentTasks: 1001 }, 'maxConcurrentTasks'],
    [{ logRetentionDays: 10 }, 'logRetentionDays'],
    [{ prefix: 'p'.repeat(40), awsTargets: ['aws', 't'.repeat(20)] }, 'awsTargets.1'],
  ])('refuses %j and names %s', (options, named) => {
    // Prepare
    const define = () => defineResources(options as never);

    // Act
    const attempt = () => define();

    // Assess
    expect(attempt).toThrow(ResourceOptionsError);
    expect(attempt).toThrow(named);
  });
});

describe('defineResources for the stack', () => {
  it('names each function, its role and the processor of each queue after the prefix', () => {
    // Prepare
    const options = { prefix: 'demo', awsTargets: ['aws', 'aws-east'] };

    // Act
    const resources = defineResources(options);

    // Assess
    expect(resources.functions.ingest.name).toBe('demo-ingest');
    expect(resources.functions.stats.name).toBe('demo-stats');
    expect(resources.functions.reconcile.name).toBe('demo-reconcile');
    expect(resources.reconcileSchedule.name).toBe('demo-reconcile');
    expect(resources.queues.map((q) => q.processorName)).toEqual([
      'demo-process-aws',
      'demo-process-aws-east',
    ]);
    expect(resources.ingestSteps.functionName).toBe('demo-ingest-step');
    expect(resources.ingestSteps.queueName).toBe('demo-ingest-steps');
    expect(resources.federation.publisherRoleNames).toEqual([
      'demo-ingest',
      'demo-ingest-step',
      'demo-reconcile',
      'demo-stats',
      'demo-process-aws',
      'demo-process-aws-east',
    ]);
    expect(resources.federation.roleName).toBe('demo-from-gcp');
    expect(resources.streamFailures.queueName).toBe('demo-stats-failures');
    expect(resources.bucket.accessLogsName).toBe('demo-access-logs');
    expect(resources.api.name).toBe('demo-api');
    expect(resources.observability.dashboardName).toBe('demo');
  });

  it('keeps ingest under the HTTP API integration limit of 30 s', () => {
    // Act
    const { functions } = defineResources({});

    // Assess
    expect(functions.ingest.timeoutSeconds).toBeLessThan(30);
  });

  it('maps maxConcurrentTasks to the function concurrency and logRetentionDays to the logs, with defaults 20 and 30', () => {
    // Act
    const defaults = defineResources({});
    const chosen = defineResources({ maxConcurrentTasks: 50, logRetentionDays: 90 });

    // Assess
    expect(defaults.processor.maxConcurrency).toBe(20);
    expect(defaults.observability.logRetentionDays).toBe(30);
    expect(chosen.processor.maxConcurrency).toBe(50);
    expect(chosen.observability.logRetentionDays).toBe(90);
  });

  it('accepts the longest prefix with a target whose function name still fits 64 characters', () => {
    // Prepare: 40 + '-process-' (9) + 15 = 64.
    const options = { prefix: 'p'.repeat(40), awsTargets: ['t'.repeat(15)] };

    // Act
    const [queue] = defineResources(options).queues;

    // Assess
    expect(queue?.processorName).toHaveLength(64);
  });
});

describe('defineResources for expiry', () => {
  it.each([
    ['the default hour', undefined, 3600, 7],
    ['a day', 86_400, 86_400, 7],
    ['eight days exactly', 691_200, 691_200, 8],
    ['eight days and a second, rounded up', 691_201, 691_201, 9],
  ])(
    'keeps items jobs.ttl_seconds and job data whole days, at least as long as a job may run: %s',
    (_, jobTtlSeconds, ttl, days) => {
      // Act
      const resources = defineResources(jobTtlSeconds === undefined ? {} : { jobTtlSeconds });

      // Assess
      expect(resources.jobTtlSeconds).toBe(ttl);
      expect(resources.bucket.jobDataExpireAfterDays).toBe(days);
      expect(dataLifecycle(resources.bucket)).toEqual([
        { id: 'expire-inputs', prefix: 'inputs/', days },
        { id: 'expire-results', prefix: 'results/', days },
        { id: 'expire-uploads', prefix: 'uploads/', days: resources.bucket.expireAfterDays },
      ]);
    },
  );

  it('refuses a TTL that is not a whole number of seconds above 0', () => {
    // Assess
    expect(() => defineResources({ jobTtlSeconds: 0 })).toThrow(/jobTtlSeconds/);
  });
});

describe('defineResources: priority lanes', () => {
  const concurrencies = (resources: ReturnType<typeof defineResources>) =>
    resources.queues.map((queue) => PRIORITIES.map((lane) => queue.lanes[lane].maxConcurrency));

  it('gives each target a queue a lane, all redriving to its one dead-letter queue, split 12/6/2 by default', () => {
    // Act
    const resources = defineResources({ awsTargets: ['aws', 'aws-east'] });

    // Assess
    expect(resources.queues.map((queue) => PRIORITIES.map((lane) => queue.lanes[lane].name))).toEqual([
      ['fanout-aws-high', 'fanout-aws-medium', 'fanout-aws-low'],
      ['fanout-aws-east-high', 'fanout-aws-east-medium', 'fanout-aws-east-low'],
    ]);
    expect(resources.queues.map((queue) => queue.deadLetterName)).toEqual([
      'fanout-aws-dlq',
      'fanout-aws-east-dlq',
    ]);
    expect(concurrencies(resources)).toEqual([
      [12, 6, 2],
      [12, 6, 2],
    ]);
  });

  it.each([
    [20, { high: 60, medium: 30, low: 10 }, [12, 6, 2]],
    [6, { high: 34, medium: 33, low: 33 }, [2, 2, 2]],
    [10, { high: 50, medium: 25, low: 25 }, [5, 3, 2]],
    [200, { high: 1, medium: 1, low: 98 }, [2, 2, 196]],
  ])(
    'splits maxConcurrentTasks %i by %j into whole instances that sum to it',
    (maxConcurrentTasks, laneShares, expected) => {
      // Act
      const [split] = concurrencies(defineResources({ maxConcurrentTasks, laneShares }));

      // Assess
      expect(split).toEqual(expected);
      expect(split?.reduce((sum, n) => sum + n, 0)).toBe(maxConcurrentTasks);
    },
  );

  it('names every lane that gets fewer than SQS’s 2, in one error, with what would fix it', () => {
    // Act
    const define = () =>
      defineResources({ maxConcurrentTasks: 10, laneShares: { high: 90, medium: 6, low: 4 } });

    // Assess
    expect(define).toThrow(ResourceOptionsError);
    expect(define).toThrow(
      "invalid resource options: laneShares.medium: the medium lane gets 1 of maxConcurrentTasks 10; SQS's least is 2: raise maxConcurrentTasks to 34 or the medium share; " +
        "laneShares.low: the low lane gets 0 of maxConcurrentTasks 10; SQS's least is 2: raise maxConcurrentTasks to 50 or the low share",
    );
  });
});
