import type { PubSub, protos, Subscription } from '@google-cloud/pubsub';
import { PubSubProvisioningError } from '../adapters/gcp/errors.ts';
import { byLane, type Lanes } from '../core/lanes.ts';
import type { GcpResources, PubSubTargetDefinition } from './gcp-resources.ts';

/** The gRPC status of a create that found the resource there already. */
const ALREADY_EXISTS = 6;

/** Full resource names (`projects/…/topics/…`, `projects/…/subscriptions/…`) by Google Cloud target. */
export interface ProvisionedGcp {
  /** By target, each lane's topic. */
  topics: Record<string, Lanes<string>>;
  /** By target, each lane's subscription. */
  subscriptions: Record<string, Lanes<string>>;
  deadLetterTopics: Record<string, string>;
  deadLetterSubscriptions: Record<string, string>;
  /** Where each job's end is published. */
  jobEventsTopic: string;
}

export interface ProvisionGcpOptions {
  /**
   * By target and lane, the URL Pub/Sub pushes the lane's deliveries to (its function), instead of
   * workers pulling them.
   * @default none: pull subscriptions
   */
  pushEndpoints?: Record<string, Lanes<string>>;
}

type SubscriptionSettings = Omit<protos.google.pubsub.v1.ISubscription, 'name' | 'topic'>;

const alreadyExists = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ALREADY_EXISTS;

const duration = (seconds: number): protos.google.protobuf.IDuration => ({ seconds, nanos: 0 });

/** Creates the topic with its message retention, or, when it exists, sets that retention. */
const ensureTopic = async (pubsub: PubSub, name: string, retentionSeconds: number): Promise<string> => {
  const messageRetentionDuration = duration(retentionSeconds);
  try {
    const [topic] = await pubsub.createTopic({ name, messageRetentionDuration });
    return topic.name;
  } catch (error) {
    if (!alreadyExists(error)) throw error;
    const topic = pubsub.topic(name);
    await topic.setMetadata({ messageRetentionDuration });
    return topic.name;
  }
};

/**
 * Creates the subscription, or, when it exists, sets the settings given (a second run converges on the
 * definitions). One attached to another topic is refused: a subscription's topic cannot change, and
 * deleting it would lose its backlog.
 */
const ensureSubscription = async (
  pubsub: PubSub,
  topic: string,
  name: string,
  settings: SubscriptionSettings,
): Promise<string> => {
  // The handwritten client's option types are narrower than the API's (null where it takes undefined).
  const options = settings as Parameters<PubSub['createSubscription']>[2];
  let subscription: Subscription;
  try {
    [subscription] = await pubsub.createSubscription(topic, name, options);
    return subscription.name;
  } catch (error) {
    if (!alreadyExists(error)) throw error;
  }
  subscription = pubsub.subscription(name);
  const [current] = await subscription.getMetadata();
  if (current.topic !== topic) {
    throw new PubSubProvisioningError(
      `subscription ${name} exists on topic ${current.topic}, not ${topic}; delete it to re-create it`,
    );
  }
  // Sent only when it changes: "never expires" is already set after the first run, and the emulator
  // refuses any update of the field.
  const { expirationPolicy, ...rest } = settings;
  const neverExpires = (policy: typeof expirationPolicy) => (policy?.ttl ?? null) === null;
  const update = neverExpires(expirationPolicy) && neverExpires(current.expirationPolicy) ? rest : settings;
  await subscription.setMetadata(update as Parameters<Subscription['setMetadata']>[0]);
  return subscription.name;
};

/**
 * The settings of a lane's subscription, the same for every lane of a target: the ack deadline, the dead-letter and retry policies, the
 * retention, and no expiry (Pub/Sub deletes a subscription idle for 31 days unless told otherwise).
 */
export const subscriptionSettings = (
  target: PubSubTargetDefinition,
  deadLetterTopic: string,
  pushEndpoint?: string,
): SubscriptionSettings => ({
  ...(pushEndpoint !== undefined && { pushConfig: { pushEndpoint } }),
  ackDeadlineSeconds: target.ackDeadlineSeconds,
  deadLetterPolicy: { deadLetterTopic, maxDeliveryAttempts: target.maxDeliveryAttempts },
  retryPolicy: {
    minimumBackoff: duration(target.minimumBackoffSeconds),
    maximumBackoff: duration(target.maximumBackoffSeconds),
  },
  messageRetentionDuration: duration(target.messageRetentionSeconds),
  expirationPolicy: {},
});

const ensureTarget = async (
  pubsub: PubSub,
  target: PubSubTargetDefinition,
  pushEndpoints?: Lanes<string>,
) => {
  const deadLetterTopic = await ensureTopic(pubsub, target.deadLetterTopic, target.topicRetentionSeconds);
  // Before the lanes' subscriptions: a dead letter published to a topic without subscriptions is lost.
  const deadLetterSubscription = await ensureSubscription(
    pubsub,
    deadLetterTopic,
    target.deadLetterSubscription,
    {
      ackDeadlineSeconds: target.ackDeadlineSeconds,
      messageRetentionDuration: duration(target.deadLetterRetentionSeconds),
      expirationPolicy: {},
    },
  );
  const lanes = await Promise.all(
    Object.values(target.lanes).map(async ({ lane, topic, subscription }) => {
      const topicName = await ensureTopic(pubsub, topic, target.topicRetentionSeconds);
      const settings = subscriptionSettings(target, deadLetterTopic, pushEndpoints?.[lane]);
      return {
        lane,
        topic: topicName,
        subscription: await ensureSubscription(pubsub, topicName, subscription, settings),
      };
    }),
  );
  const named = (key: 'topic' | 'subscription') =>
    byLane((lane) => lanes.find((made) => made.lane === lane)?.[key] as string);
  return {
    target: target.target,
    topics: named('topic'),
    subscriptions: named('subscription'),
    deadLetterTopic,
    deadLetterSubscription,
  };
};

/**
 * Creates, or brings in line with the definitions, every Pub/Sub resource of a deployment: per target a
 * dead-letter topic with a subscription to read dead letters from, and per lane a topic with the
 * subscription its function (or a worker) takes deliveries from; and the topic of job ends. Safe to run
 * again.
 *
 * On Google Cloud (not the emulator) the dead-letter policy also needs the project's Pub/Sub service
 * agent to hold `roles/pubsub.publisher` on the dead-letter topic and `roles/pubsub.subscriber` on the
 * subscription; that IAM binding is the deployment's to make.
 */
export const provisionGcp = async (
  resources: GcpResources,
  pubsub: PubSub,
  options: ProvisionGcpOptions = {},
): Promise<ProvisionedGcp> => {
  const [jobEventsTopic, ...targets] = await Promise.all([
    ensureTopic(pubsub, resources.jobEventsTopic, resources.jobEventsRetentionSeconds),
    ...resources.targets.map((target) =>
      ensureTarget(pubsub, target, options.pushEndpoints?.[target.target]),
    ),
  ]);
  const byTarget = <K extends 'topics' | 'subscriptions' | 'deadLetterTopic' | 'deadLetterSubscription'>(
    key: K,
  ) =>
    Object.fromEntries(targets.map((target) => [target.target, target[key]])) as Record<
      string,
      (typeof targets)[number][K]
    >;
  return {
    topics: byTarget('topics'),
    subscriptions: byTarget('subscriptions'),
    deadLetterTopics: byTarget('deadLetterTopic'),
    deadLetterSubscriptions: byTarget('deadLetterSubscription'),
    jobEventsTopic: jobEventsTopic as string,
  };
};
