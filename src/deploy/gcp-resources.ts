import { z } from 'zod';
import { laneShares } from '../config/schema.ts';
import { DEFAULT_JOB_TTL_SECONDS, PRIORITIES, type Priority } from '../core/constants.ts';
import { apportion, byLane, DEFAULT_LANE_SHARES, type Lanes } from '../core/lanes.ts';
import type { ResourceOptionsError } from './errors.ts';
import { parseResourceOptions, resourcePrefix, targetNames } from './resources.ts';

const DAY_SECONDS = 24 * 60 * 60;

/** Limits of the services that bound the options. */
const GcpLimits = {
  /** An event-driven Cloud Function (2nd gen) runs at most 9 minutes. */
  maxFunctionTimeoutSeconds: 540,
  /** Pub/Sub keeps ack deadlines between 10 s and 600 s. */
  minAckDeadlineSeconds: 10,
  maxAckDeadlineSeconds: 600,
  /** A dead-letter policy allows 5 to 100 delivery attempts. */
  minDeliveryAttempts: 5,
  maxDeliveryAttempts: 100,
  /** A retry policy's backoffs lie between 0 s and 600 s. */
  maxBackoffSeconds: 600,
  /** A subscription keeps unacknowledged messages at most 7 days (a topic's own retention may be longer). */
  maxSubscriptionRetentionSeconds: 7 * DAY_SECONDS,
  /** A function's maximum number of instances. */
  maxInstances: 1000,
  /** A topic keeps messages between 10 minutes and 31 days. */
  minTopicRetentionSeconds: 10 * 60,
  maxTopicRetentionSeconds: 31 * DAY_SECONDS,
} as const;

const GcpOptionsSchema = z
  .strictObject({
    // One prefix names both clouds' resources; Pub/Sub also refuses names that start with "goog".
    prefix: resourcePrefix
      .refine((prefix) => !prefix.startsWith('goog'), 'Pub/Sub names may not start with "goog"')
      .default('fanout'),
    gcpTargets: targetNames('gcp'),
    processorTimeoutSeconds: z.number().int().min(1).max(GcpLimits.maxFunctionTimeoutSeconds).default(60),
    maxDeliveryAttempts: z
      .number()
      .int()
      .min(GcpLimits.minDeliveryAttempts)
      .max(GcpLimits.maxDeliveryAttempts)
      .default(5),
    minimumBackoffSeconds: z.number().int().min(0).max(GcpLimits.maxBackoffSeconds).default(10),
    maximumBackoffSeconds: z.number().int().min(0).max(GcpLimits.maxBackoffSeconds).default(600),
    // The seed configuration's max_concurrent_tasks: one delivery per instance at a time, shared by the
    // lanes' functions.
    maxConcurrentTasks: z.number().int().min(1).max(GcpLimits.maxInstances).default(10),
    // priority.shares: each lane's part of maxConcurrentTasks.
    laneShares: laneShares.default({ ...DEFAULT_LANE_SHARES }),
    // jobs.ttl_seconds: the topics' own message retention follows it.
    jobTtlSeconds: z.number().int().min(1).default(DEFAULT_JOB_TTL_SECONDS),
  })
  .refine((options) => options.minimumBackoffSeconds <= options.maximumBackoffSeconds, {
    message: 'minimumBackoffSeconds must not exceed maximumBackoffSeconds',
    path: ['minimumBackoffSeconds'],
  })
  .superRefine(({ maxConcurrentTasks, laneShares: shares }, context) => {
    // Shares that are wrong themselves were named already.
    if (!laneShares.safeParse(shares).success) return;
    const instances = apportion(maxConcurrentTasks, shares);
    for (const lane of PRIORITIES) {
      if (instances[lane] >= 1) continue;
      context.addIssue({
        code: 'custom',
        path: ['laneShares', lane],
        message: `the ${lane} lane's function gets no instance of maxConcurrentTasks ${maxConcurrentTasks}: raise maxConcurrentTasks to ${Math.ceil(100 / shares[lane])} or the ${lane} share`,
      });
    }
  });

/** What {@link defineGcpResources} accepts; every field is optional. */
export type GcpResourceOptions = z.input<typeof GcpOptionsSchema>;

/**
 * One lane of a Pub/Sub target: its topic, and the push subscription that feeds the lane's own function.
 * Topics and subscriptions have separate namespaces, so a subscription shares its topic's name.
 */
export interface PubSubLaneDefinition {
  lane: Priority;
  /** @default `${prefix}-${target}-${lane}` */
  topic: string;
  /** @default `${prefix}-${target}-${lane}` */
  subscription: string;
  /** The function the subscription pushes to, this lane's alone. @default `${prefix}-process-${target}-${lane}` */
  functionName: string;
  /**
   * The function's instances, one delivery each: the lane's share of `maxConcurrentTasks` in whole
   * instances (`apportion`), so a backlog on one lane cannot take the others' instances.
   * @default 6, 3 and 1 (60/30/10 of 10)
   */
  maxInstances: number;
}

/**
 * One Pub/Sub target: a topic and push subscription per lane, each with its own function, and the
 * dead-letter topic they share, with a subscription of its own.
 */
export interface PubSubTargetDefinition {
  /** The target name the balancer routes by. */
  target: string;
  /** Each lane's topic, subscription and function. */
  lanes: Lanes<PubSubLaneDefinition>;
  /** @default `${prefix}-${target}-dlq` */
  deadLetterTopic: string;
  /**
   * Where dead letters can be read. It must exist before the first message is dead-lettered: Pub/Sub
   * keeps nothing published to a topic without subscriptions.
   * @default `${prefix}-${target}-dlq`
   */
  deadLetterSubscription: string;
  /**
   * Twice the processor timeout, at least 10 s and at most 600 s (Pub/Sub's bounds): a delivery is handed
   * out again only once the function that had it has certainly stopped (its timeout, plus start-up and
   * the ack's own latency), while a crashed delivery waits no longer than one more timeout. For a push
   * subscription it is also how long Pub/Sub waits for the function's answer, so it must exceed the timeout.
   * @default 120
   */
  ackDeadlineSeconds: number;
  /** Deliveries before Pub/Sub moves a message to the dead-letter topic. @default 5 (the least allowed) */
  maxDeliveryAttempts: number;
  /**
   * Backoff of a nacked or expired delivery: Fanout's retries are new messages, so redelivery is only for
   * what a function could not settle, and waiting out a store's hiccup beats retrying at once.
   * @default 10
   */
  minimumBackoffSeconds: number;
  /** @default 600 */
  maximumBackoffSeconds: number;
  /** @default 345600 (4 days, as the SQS queues) */
  messageRetentionSeconds: number;
  /**
   * How long the topic (and the dead-letter topic) keeps published messages, for a seek: `jobs.ttl_seconds`
   * clamped to what Pub/Sub allows, 10 minutes to 31 days. @default 3600
   */
  topicRetentionSeconds: number;
  /** Longer than the main subscription's, as on SQS: the most a subscription keeps. @default 604800 (7 days) */
  deadLetterRetentionSeconds: number;
}

/**
 * What the functions that process deliveries (2nd gen) have in common: one per lane of each target
 * (`PubSubLaneDefinition.functionName`), all from the same source, each pushed its lane's deliveries.
 */
export interface GcpFunctionDefinition {
  /** @default 'nodejs22' */
  runtime: 'nodejs22';
  /** The name the function registers itself under with the Functions Framework. @default 'processGcp' */
  entryPoint: 'processGcp';
  /** @default 1024 */
  memoryMb: number;
}

/** The service accounts of a deployment, by account id (the part of the e-mail address before `@`). */
export interface GcpServiceAccountsDefinition {
  /** The functions run as it. @default `${prefix}-processor` */
  processor: string;
  /** The AWS functions act as it, through workload identity federation, to publish. @default `${prefix}-publisher` */
  publisher: string;
  /** Pub/Sub signs its pushes to the functions as it. @default `${prefix}-invoker` */
  pushInvoker: string;
}

/** The workload identity pool and provider through which the AWS functions obtain Google credentials. */
export interface WorkloadIdentityDefinition {
  /** @default `${prefix}-aws` */
  pool: string;
  /** The AWS provider, which trusts one AWS account. @default 'aws-functions' */
  provider: string;
}

/** Every Google Cloud resource of one deployment, by name and limit. */
export interface GcpResources {
  /** @default 'fanout' */
  prefix: string;
  /** One per Google Cloud target, in the order given. @default one, for target 'gcp' */
  targets: PubSubTargetDefinition[];
  processor: {
    /** @default 60 */
    timeoutSeconds: number;
    /** A claim's lease: ack deadline minus timeout, as on AWS (docs/aws.md, "Lease and visibility"). @default 60000 */
    leaseMs: number;
  };
  function: GcpFunctionDefinition;
  serviceAccounts: GcpServiceAccountsDefinition;
  workloadIdentity: WorkloadIdentityDefinition;
  /** The topic each job's end is published to (`{type, job}`, attributes `type`, `jobId`, `status`). @default `${prefix}-job-events` */
  jobEventsTopic: string;
  /** How long that topic keeps a message: `jobTtlSeconds`, clamped as the targets' topics are. */
  jobEventsRetentionSeconds: number;
}

/**
 * The names and limits of a deployment's Google Cloud resources, from a few options, with names from the
 * same prefix as {@link defineResources}. Throws {@link ResourceOptionsError}.
 */
export const defineGcpResources = (options: GcpResourceOptions = {}): GcpResources => {
  const {
    prefix,
    gcpTargets,
    processorTimeoutSeconds,
    maxConcurrentTasks,
    laneShares: shares,
    jobTtlSeconds,
    ...delivery
  } = parseResourceOptions(GcpOptionsSchema, options, 'Google Cloud resource options');
  const instances = apportion(maxConcurrentTasks, shares);
  const topicRetentionSeconds = Math.min(
    GcpLimits.maxTopicRetentionSeconds,
    Math.max(GcpLimits.minTopicRetentionSeconds, jobTtlSeconds),
  );
  const ackDeadlineSeconds = Math.min(
    GcpLimits.maxAckDeadlineSeconds,
    Math.max(GcpLimits.minAckDeadlineSeconds, 2 * processorTimeoutSeconds),
  );
  return {
    prefix,
    targets: gcpTargets.map((target) => ({
      target,
      lanes: byLane((lane) => ({
        lane,
        topic: `${prefix}-${target}-${lane}`,
        subscription: `${prefix}-${target}-${lane}`,
        functionName: `${prefix}-process-${target}-${lane}`,
        maxInstances: instances[lane],
      })),
      deadLetterTopic: `${prefix}-${target}-dlq`,
      deadLetterSubscription: `${prefix}-${target}-dlq`,
      ackDeadlineSeconds,
      maxDeliveryAttempts: delivery.maxDeliveryAttempts,
      minimumBackoffSeconds: delivery.minimumBackoffSeconds,
      maximumBackoffSeconds: delivery.maximumBackoffSeconds,
      messageRetentionSeconds: 4 * DAY_SECONDS,
      topicRetentionSeconds,
      deadLetterRetentionSeconds: GcpLimits.maxSubscriptionRetentionSeconds,
    })),
    processor: {
      timeoutSeconds: processorTimeoutSeconds,
      leaseMs: Math.max(0, ackDeadlineSeconds - processorTimeoutSeconds) * 1000,
    },
    function: { runtime: 'nodejs22', entryPoint: 'processGcp', memoryMb: 1024 },
    serviceAccounts: {
      processor: `${prefix}-processor`,
      publisher: `${prefix}-publisher`,
      pushInvoker: `${prefix}-invoker`,
    },
    workloadIdentity: { pool: `${prefix}-aws`, provider: 'aws-functions' },
    jobEventsTopic: `${prefix}-job-events`,
    jobEventsRetentionSeconds: topicRetentionSeconds,
  };
};
