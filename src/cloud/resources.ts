import { z } from 'zod';
import { FanoutError } from '../core/errors.ts';

/** Options of {@link defineResources} that break a naming rule or a service limit; the message names the option. */
export class ResourceOptionsError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ResourceOptionsError';
  }
}

const DAY_SECONDS = 24 * 60 * 60;

/** Limits of the services that bound the options: Lambda's 15-minute timeout, SQS's 80-character names. */
const Limits = {
  maxPrefixLength: 40,
  maxLambdaTimeoutSeconds: 900,
} as const;

const OptionsSchema = z.strictObject({
  // Lowercase only and no trailing hyphen: the bucket name `${prefix}-data` must follow S3's rules.
  prefix: z
    .string()
    .max(Limits.maxPrefixLength)
    .regex(
      /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/,
      'a prefix is lowercase letters, digits and -, starting with a letter',
    )
    .default('fanout'),
  awsTargets: z
    .array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a target name is lowercase letters, digits and -'))
    .min(1)
    .refine((names) => new Set(names).size === names.length, 'target names must be unique')
    .default(['aws']),
  processorTimeoutSeconds: z.number().int().min(1).max(Limits.maxLambdaTimeoutSeconds).default(60),
});

/** What {@link defineResources} accepts; every field is optional. */
export type ResourceOptions = z.input<typeof OptionsSchema>;

/** The task table: jobs, tasks, summaries and stats in one table (see `DynamoTaskStore`). */
export interface TableDefinition {
  /** @default `${prefix}-tasks` */
  name: string;
  /** String partition key. @default 'pk' */
  partitionKey: 'pk';
  /** String sort key. @default 'sk' */
  sortKey: 'sk';
  /** Epoch-seconds attribute DynamoDB's TTL deletes items by. @default 'expiresAt' */
  ttlAttribute: 'expiresAt';
  /** The stats function needs both images to count a transition exactly once. @default 'NEW_AND_OLD_IMAGES' */
  streamView: 'NEW_AND_OLD_IMAGES';
}

/** The data bucket: packed input segments and packed batch outputs. */
export interface BucketDefinition {
  /** Bucket names are global; deployments that share an account and region need distinct prefixes. @default `${prefix}-data` */
  name: string;
  /** @default 'inputs/' */
  inputsPrefix: 'inputs/';
  /** @default 'results/' */
  resultsPrefix: 'results/';
  /** A lifecycle rule deletes objects this many days after they were written. @default 7 */
  expireAfterDays: number;
}

/** One SQS queue per AWS target, each with its dead-letter queue. */
export interface QueueDefinition {
  /** The target name the balancer routes by. */
  target: string;
  /** @default `${prefix}-${target}` */
  name: string;
  /** @default `${prefix}-${target}-dlq` */
  deadLetterName: string;
  /** Six times the processor timeout, as AWS advises for a queue that feeds a Lambda function. @default 360 */
  visibilityTimeoutSeconds: number;
  /** Deliveries before the redrive policy moves a message to the dead-letter queue. @default 5 */
  maxReceiveCount: number;
  /** @default 345600 (4 days, SQS's own default) */
  messageRetentionSeconds: number;
  /**
   * Longer than the source queue's: a standard queue keeps a message's original enqueue time when it
   * moves it, so a shorter retention here could drop a dead letter as soon as it arrives.
   * @default 1209600 (14 days, the most SQS allows)
   */
  deadLetterRetentionSeconds: number;
}

/** The process function and its SQS event source mappings. */
export interface ProcessorDefinition {
  /** @default 60 */
  timeoutSeconds: number;
  /** @default 1024 */
  memoryMb: number;
  /** Records per invocation; above 10 the mapping needs a batching window. @default 100 */
  batchSize: number;
  /** @default 1 */
  maxBatchingWindowSeconds: number;
  /** The mapping's maximum concurrency per queue (SQS allows 2 to 1000). @default 10 */
  maxConcurrency: number;
  /**
   * A claim's lease: visibility timeout minus function timeout, so a message SQS hands out again after a
   * crash always finds the lease run out (docs/aws.md, "Lease and visibility"). @default 300000
   */
  leaseMs: number;
}

/**
 * The stats function and its DynamoDB stream event source mapping. Each batch costs the same whatever its
 * size: per job in it, two consistent reads and a transaction that puts the job's summary and the overall
 * stats (each 1-2 KB, so about 8 WRU with the transaction's doubling). Large batches keep that a small
 * fraction of the two writes a chunk costs; a job's view lags its tasks by up to the batching window.
 */
export interface StatsDefinition {
  /** @default 1000 */
  batchSize: number;
  /** @default 5 */
  maxBatchingWindowSeconds: number;
  /** Retries of a failed batch before the mapping skips it. @default 3 */
  retryAttempts: number;
}

/** Every AWS resource of one deployment, by name and limit: what the CDK stack and the local emulators build. */
export interface Resources {
  /** @default 'fanout' */
  prefix: string;
  table: TableDefinition;
  bucket: BucketDefinition;
  /** One per AWS target, in the order given. @default one queue, for target 'aws' */
  queues: QueueDefinition[];
  processor: ProcessorDefinition;
  stats: StatsDefinition;
  /** How long job, task and stats items live after their last write. @default 604800 (7 days) */
  jobTtlSeconds: number;
}

const describeIssue = (issue: z.core.$ZodIssue): string =>
  `${issue.path.length > 0 ? issue.path.join('.') : 'options'}: ${issue.message}`;

/** Options checked against their schema; a bad one is a {@link ResourceOptionsError} that names it. */
export const parseResourceOptions = <S extends z.ZodType>(
  schema: S,
  options: unknown,
  what: string,
): z.output<S> => {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    throw new ResourceOptionsError(`invalid ${what}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  }
  return parsed.data;
};

/** The names and limits of a deployment's AWS resources, from a few options. Throws {@link ResourceOptionsError}. */
export const defineResources = (options: ResourceOptions = {}): Resources => {
  const { prefix, awsTargets, processorTimeoutSeconds } = parseResourceOptions(
    OptionsSchema,
    options,
    'resource options',
  );
  const visibilityTimeoutSeconds = 6 * processorTimeoutSeconds;
  return {
    prefix,
    table: {
      name: `${prefix}-tasks`,
      partitionKey: 'pk',
      sortKey: 'sk',
      ttlAttribute: 'expiresAt',
      streamView: 'NEW_AND_OLD_IMAGES',
    },
    bucket: {
      name: `${prefix}-data`,
      inputsPrefix: 'inputs/',
      resultsPrefix: 'results/',
      expireAfterDays: 7,
    },
    queues: awsTargets.map((target) => ({
      target,
      name: `${prefix}-${target}`,
      deadLetterName: `${prefix}-${target}-dlq`,
      visibilityTimeoutSeconds,
      maxReceiveCount: 5,
      messageRetentionSeconds: 4 * DAY_SECONDS,
      deadLetterRetentionSeconds: 14 * DAY_SECONDS,
    })),
    processor: {
      timeoutSeconds: processorTimeoutSeconds,
      memoryMb: 1024,
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 10,
      leaseMs: (visibilityTimeoutSeconds - processorTimeoutSeconds) * 1000,
    },
    stats: { batchSize: 1000, maxBatchingWindowSeconds: 5, retryAttempts: 3 },
    jobTtlSeconds: 7 * DAY_SECONDS,
  };
};
