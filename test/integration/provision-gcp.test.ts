import { describe, expect, it } from 'vitest';
import { PubSubProvisioningError } from '../../src/adapters/gcp/errors.ts';
import { PubSubQueue } from '../../src/adapters/gcp/pubsub-queue.ts';
import { ResourceOptionsError } from '../../src/deploy/errors.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { provisionGcp } from '../../src/deploy/provision-gcp.ts';
import { pubsubForThisFile } from '../support/pubsub.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const PROJECT = 'fanout-provision';

const pubsub = pubsubForThisFile(PROJECT);

const resources = defineGcpResources({
  prefix: 'prov',
  gcpTargets: ['gcp', 'gcp-b'],
  processorTimeoutSeconds: 45,
});

const seconds = (duration: { seconds?: unknown } | null | undefined): number =>
  Number(duration?.seconds ?? 0);

describe('defineGcpResources', () => {
  it('names every resource from the prefix and sets the ack deadline to twice the processor timeout', () => {
    // Prepare
    const options = { prefix: 'acme', processorTimeoutSeconds: 60 };

    // Act
    const defined = defineGcpResources(options);

    // Assess
    expect(defined.targets).toEqual([
      {
        target: 'gcp',
        lanes: {
          high: {
            lane: 'high',
            topic: 'acme-gcp-high',
            subscription: 'acme-gcp-high',
            functionName: 'acme-process-gcp-high',
            maxInstances: 6,
          },
          medium: {
            lane: 'medium',
            topic: 'acme-gcp-medium',
            subscription: 'acme-gcp-medium',
            functionName: 'acme-process-gcp-medium',
            maxInstances: 3,
          },
          low: {
            lane: 'low',
            topic: 'acme-gcp-low',
            subscription: 'acme-gcp-low',
            functionName: 'acme-process-gcp-low',
            maxInstances: 1,
          },
        },
        deadLetterTopic: 'acme-gcp-dlq',
        deadLetterSubscription: 'acme-gcp-dlq',
        ackDeadlineSeconds: 120,
        maxDeliveryAttempts: 5,
        minimumBackoffSeconds: 10,
        maximumBackoffSeconds: 600,
        messageRetentionSeconds: 4 * 24 * 3600,
        topicRetentionSeconds: 3600,
        deadLetterRetentionSeconds: 7 * 24 * 3600,
      },
    ]);
    expect(defined.processor).toEqual({ timeoutSeconds: 60, leaseMs: 60_000 });
  });

  it('keeps the ack deadline within Pub/Sub bounds of 10 to 600 s', () => {
    // Act
    const short = defineGcpResources({ processorTimeoutSeconds: 2 });
    const long = defineGcpResources({ processorTimeoutSeconds: 540 });

    // Assess
    expect(short.targets[0]?.ackDeadlineSeconds).toBe(10);
    expect(long.targets[0]?.ackDeadlineSeconds).toBe(600);
    expect(long.processor.leaseMs).toBe(60_000);
  });

  it.each([
    [{ unknown: 1 }, /options: Unrecognized key/],
    [{ prefix: 'google' }, /prefix: Pub\/Sub names may not start with "goog"/],
    [{ maxDeliveryAttempts: 4 }, /maxDeliveryAttempts/],
    [{ processorTimeoutSeconds: 541 }, /processorTimeoutSeconds/],
    [{ minimumBackoffSeconds: 60, maximumBackoffSeconds: 30 }, /minimumBackoffSeconds must not exceed/],
    [{ gcpTargets: ['gcp', 'gcp'] }, /gcpTargets: target names must be unique/],
    [
      { laneShares: { high: 70, medium: 30, low: 10 } },
      /laneShares: the shares of high, medium and low must sum to 100/,
    ],
  ])('refuses options %j', (options, message) => {
    // Act
    const define = () => defineGcpResources(options as never);

    // Assess
    expect(define).toThrow(ResourceOptionsError);
    expect(define).toThrow(message);
  });
});

describe('provisionGcp on the Pub/Sub emulator', () => {
  it('creates per lane of each target a topic and a subscription with the dead-letter and retry policies and ack deadline, and per target a dead-letter topic and subscription', async () => {
    // Prepare
    const expected = resources.targets;

    // Act
    const provisioned = await provisionGcp(resources, pubsub.clients.pubsub);

    // Assess
    for (const target of expected) {
      const deadLetterTopic = `projects/${PROJECT}/topics/${target.deadLetterTopic}`;
      for (const lane of Object.values(target.lanes)) {
        const [main] = await pubsub.clients.pubsub.subscription(lane.subscription).getMetadata();
        expect(provisioned.topics[target.target]?.[lane.lane]).toBe(
          `projects/${PROJECT}/topics/${lane.topic}`,
        );
        expect(provisioned.subscriptions[target.target]?.[lane.lane]).toBe(main.name);
        expect(main.topic).toBe(provisioned.topics[target.target]?.[lane.lane]);
        expect(main.ackDeadlineSeconds).toBe(90);
        expect(main.deadLetterPolicy?.deadLetterTopic).toBe(deadLetterTopic);
        expect(main.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
        expect(seconds(main.retryPolicy?.minimumBackoff)).toBe(10);
        expect(seconds(main.retryPolicy?.maximumBackoff)).toBe(600);
        expect(seconds(main.messageRetentionDuration)).toBe(4 * 24 * 3600);
        const [topic] = await pubsub.clients.pubsub.topic(lane.topic).getMetadata();
        expect(seconds(topic.messageRetentionDuration)).toBe(target.topicRetentionSeconds);
      }
      const [dead] = await pubsub.clients.pubsub.subscription(target.deadLetterSubscription).getMetadata();
      expect(provisioned.deadLetterTopics[target.target]).toBe(deadLetterTopic);
      expect(provisioned.deadLetterSubscriptions[target.target]).toBe(dead.name);
      expect(dead.topic).toBe(deadLetterTopic);
      expect(seconds(dead.messageRetentionDuration)).toBe(7 * 24 * 3600);
      expect(dead.deadLetterPolicy ?? null).toBeNull();
      const [deadTopic] = await pubsub.clients.pubsub.topic(target.deadLetterTopic).getMetadata();
      expect(seconds(deadTopic.messageRetentionDuration)).toBe(target.topicRetentionSeconds);
    }
  });

  it('is idempotent: a second run answers the same and leaves one of each resource', async () => {
    // Prepare
    const first = await provisionGcp(resources, pubsub.clients.pubsub);

    // Act
    const second = await provisionGcp(resources, pubsub.clients.pubsub);

    // Assess
    const [topics] = await pubsub.clients.pubsub.getTopics();
    const [subscriptions] = await pubsub.clients.pubsub.getSubscriptions();
    expect(second).toEqual(first);
    expect(topics.map((topic) => topic.name).sort()).toEqual(
      resources.targets
        .flatMap((target) => [
          ...Object.values(first.topics[target.target] ?? {}),
          first.deadLetterTopics[target.target],
        ])
        .concat(first.jobEventsTopic)
        .sort(),
    );
    expect(subscriptions).toHaveLength(4 * resources.targets.length);
    const [main] = await pubsub.clients.pubsub.subscription('prov-gcp-low').getMetadata();
    expect(main.ackDeadlineSeconds).toBe(90);
    expect(main.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
  });

  it('brings an existing subscription in line with changed definitions', async () => {
    // Prepare
    await provisionGcp(resources, pubsub.clients.pubsub);
    const changed = defineGcpResources({
      prefix: 'prov',
      gcpTargets: ['gcp', 'gcp-b'],
      processorTimeoutSeconds: 100,
      maxDeliveryAttempts: 7,
      minimumBackoffSeconds: 20,
    });

    // Act
    await provisionGcp(changed, pubsub.clients.pubsub);

    // Assess
    const [main] = await pubsub.clients.pubsub.subscription('prov-gcp-b-high').getMetadata();
    expect(main.ackDeadlineSeconds).toBe(200);
    expect(main.deadLetterPolicy?.maxDeliveryAttempts).toBe(7);
    expect(seconds(main.retryPolicy?.minimumBackoff)).toBe(20);
  });

  it('refuses a subscription of that name on another topic rather than deleting it', async () => {
    // Prepare
    const [other] = await pubsub.clients.pubsub.createTopic('elsewhere');
    await other.createSubscription('prov-gcp-medium');

    // Act
    const provisioning = provisionGcp(resources, pubsub.clients.pubsub);

    // Assess
    await expect(provisioning).rejects.toThrow(PubSubProvisioningError);
  });

  it('moves a message nacked maxDeliveryAttempts times to the dead-letter subscription, deliveryAttempt counting up', async () => {
    // Prepare: no backoff, so the nacks come back at once.
    const fast = defineGcpResources({ prefix: 'dead', minimumBackoffSeconds: 0, maximumBackoffSeconds: 1 });
    const target = fast.targets[0];
    if (target === undefined) throw new Error('no target defined');
    await provisionGcp(fast, pubsub.clients.pubsub);
    const queue = new PubSubQueue<{ n: number }>(pubsub.clients, target.lanes.low);
    const deadLetters = new PubSubQueue<{ n: number }>(pubsub.clients, {
      topic: target.deadLetterTopic,
      subscription: target.deadLetterSubscription,
    });
    await queue.send([{ body: { n: 1 } }]);
    const attempts: number[] = [];

    // Act
    for (let i = 0; i < target.maxDeliveryAttempts; i++) {
      const [delivery] = await queue.receive({ max: 1, waitMs: 10_000, visibilityMs: 60_000 });
      if (delivery === undefined) break;
      attempts.push(delivery.receiveCount);
      await queue.release(delivery.receipt, 0);
    }
    // The emulator moves a message to the dead-letter topic when it next falls due on the source
    // subscription: this receive, which must find nothing, is what moves it.
    const after = await queue.receive({ max: 1, waitMs: 2000, visibilityMs: 60_000 });
    const dead = await deadLetters.receive({ max: 10, waitMs: 10_000, visibilityMs: 60_000 });

    // Assess: receiveCount is Pub/Sub's deliveryAttempt here (nothing was peeked or put back).
    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    expect(dead.map((delivery) => delivery.body)).toEqual([{ n: 1 }]);
    expect(after).toEqual([]);
  });
});
