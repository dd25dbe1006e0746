import { z } from 'zod';
import { targetName } from '../config/schema.ts';
import { DEFAULT_JOB_TTL_SECONDS } from '../core/constants.ts';
import { ResourceOptionsError } from './errors.ts';

const DAY_SECONDS = 24 * 60 * 60;

/** Limits of the services that bound the options: Lambda's 15-minute timeout, SQS's 80-character names. */
const Limits = {
  maxPrefixLength: 40,
  maxLambdaTimeoutSeconds: 900,
  /** Lambda function names and IAM role names. */
  maxFunctionNameLength: 64,
  /** An SQS event source mapping's maximum concurrency. */
  minConcurrency: 2,
  maxConcurrency: 1000,
} as const;

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const processorName = (prefix: string, target: string): string => `${prefix}-process-${target}`;

/**
 * The prefix of every resource name, on both clouds. Lowercase only and no trailing hyphen: the bucket
 * name `${prefix}-data` must follow S3's rules.
 */
export const resourcePrefix = z
  .string()
  .max(Limits.maxPrefixLength)
  .regex(
    /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/,
    'a prefix is lowercase letters, digits and -, starting with a letter',
  );

/** A cloud's target names, each once; `fallback` when none are given. */
export const targetNames = (fallback: string) =>
  z
    .array(targetName)
    .min(1)
    .refine((names) => new Set(names).size === names.length, 'target names must be unique')
    .default([fallback]);

const OptionsSchema = z
  .strictObject({
    prefix: resourcePrefix.default('fanout'),
    awsTargets: targetNames('aws'),
    processorTimeoutSeconds: z.number().int().min(1).max(Limits.maxLambdaTimeoutSeconds).default(60),
    ingestStepTimeoutSeconds: z.number().int().min(1).max(Limits.maxLambdaTimeoutSeconds).default(300),
    // The seed configuration's max_concurrent_tasks.
    maxConcurrentTasks: z.number().int().min(Limits.minConcurrency).max(Limits.maxConcurrency).default(10),
    logRetentionDays: z
      .number()
      .int()
      .refine(
        (days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days),
        `CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days`,
      )
      .default(30),
  })
  .superRefine(({ prefix, awsTargets }, context) => {
    awsTargets.forEach((target, index) => {
      const name = processorName(prefix, target);
      if (name.length > Limits.maxFunctionNameLength) {
        context.addIssue({
          code: 'custom',
          path: ['awsTargets', index],
          message: `the processor's function name ${name} is longer than Lambda's ${Limits.maxFunctionNameLength} characters; use a shorter prefix or target`,
        });
      }
    });
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
  /** Where large inputs are uploaded for `POST /jobs` with `{"source": "s3://bucket/uploads/…"}`. @default 'uploads/' */
  uploadsPrefix: 'uploads/';
  /** A lifecycle rule deletes objects this many days after they were written. @default 7 */
  expireAfterDays: number;
  /** The bucket that receives the data bucket's server access logs. @default `${prefix}-access-logs` */
  accessLogsName: string;
}

/** One SQS queue per AWS target, each with its dead-letter queue. */
export interface QueueDefinition {
  /** The target name the balancer routes by. */
  target: string;
  /** @default `${prefix}-${target}` */
  name: string;
  /** @default `${prefix}-${target}-dlq` */
  deadLetterName: string;
  /** The function that consumes the queue; its role has the same name. @default `${prefix}-process-${target}` */
  processorName: string;
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
  /** The mapping's maximum concurrency per queue (SQS allows 2 to 1000): the option `maxConcurrentTasks`. @default 10 */
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

/** A Lambda function other than the processors (whose settings are in {@link ProcessorDefinition}). */
export interface FunctionDefinition {
  /** The function's name; its role has the same name. */
  name: string;
  memoryMb: number;
  timeoutSeconds: number;
}

/** The functions besides the processors. */
export interface FunctionsDefinition {
  /**
   * Serves the HTTP API. Its timeout stays under API Gateway's 30-second integration limit, so a request
   * the client has given up on is not still enqueueing chunks.
   * @default { name: `${prefix}-ingest`, memoryMb: 1024, timeoutSeconds: 29 }
   */
  ingest: FunctionDefinition;
  /** Reads the table's stream and serves `GET /stats`. @default { name: `${prefix}-stats`, memoryMb: 512, timeoutSeconds: 60 } */
  stats: FunctionDefinition;
  /**
   * Finds stranded tries and dead ingests (see `Reconciler`), run by {@link ReconcileScheduleDefinition}.
   * @default { name: `${prefix}-reconcile`, memoryMb: 512, timeoutSeconds: 120 }
   */
  reconcile: FunctionDefinition;
}

/** The EventBridge Scheduler schedule that runs the reconcile function. */
export interface ReconcileScheduleDefinition {
  /** @default `${prefix}-reconcile` */
  name: string;
  /** EventBridge Scheduler's shortest rate. @default 1 */
  rateMinutes: number;
  /** A run that overlaps the next is pointless: an invocation older than this is dropped. @default 60 */
  maxEventAgeSeconds: number;
}

/**
 * The queue of ingest steps and the function that runs them: each step splits and enqueues a job's input
 * from its checkpoint for as long as its time allows, then sends the next step (see `IngestSteps`).
 */
export interface IngestStepsDefinition {
  /** @default `${prefix}-ingest-steps` */
  queueName: string;
  /** @default `${prefix}-ingest-steps-dlq` */
  deadLetterName: string;
  /** The function, and its role. @default `${prefix}-ingest-step` */
  functionName: string;
  /** A step stops at a segment boundary well before it. @default 300 */
  timeoutSeconds: number;
  /** @default 1024 */
  memoryMb: number;
  /**
   * Six times the function's timeout, as for the processors: a step is handed out again only once the
   * one that took it has surely stopped. @default 1800
   */
  visibilityTimeoutSeconds: number;
  /** Deliveries of a step that keeps failing before it is moved to the dead-letter queue. @default 5 */
  maxReceiveCount: number;
  /** @default 345600 (4 days) */
  messageRetentionSeconds: number;
  /** @default 1209600 (14 days) */
  deadLetterRetentionSeconds: number;
  /** Steps running at once, across jobs: the mapping's maximum concurrency. @default 10 */
  maxConcurrency: number;
}

/** Where the stats stream mapping sends what of a batch it gave up on (after its retries, bisected). */
export interface StreamFailuresDefinition {
  /** @default `${prefix}-stats-failures` */
  queueName: string;
  /** @default 1209600 (14 days, the most SQS allows) */
  retentionSeconds: number;
}

/** The HTTP API in front of the ingest and stats functions. */
export interface ApiDefinition {
  /** @default `${prefix}-api` */
  name: string;
  /** Steady requests per second across the API. @default 50 */
  throttleRateLimit: number;
  /** @default 100 */
  throttleBurstLimit: number;
}

/** The thresholds of the deployment's alarms; each alarm is evaluated over one period. */
export interface AlarmsDefinition {
  /** @default 300 */
  periodSeconds: number;
  /** Messages in a dead-letter queue (or the stream's failure queue) that raise the alarm. @default 1 */
  deadLetterMessages: number;
  /** Share of a function's invocations that failed, in percent. @default 5 */
  errorRatePercent: number;
  /** Age of the oldest message in a processor's queue. @default 900 */
  oldestMessageAgeSeconds: number;
  /** Throttled invocations of a function. @default 1 */
  throttles: number;
}

/** Logs, metrics and alarms. */
export interface ObservabilityDefinition {
  /** How long the functions' and the API's logs are kept. @default 30 */
  logRetentionDays: number;
  /** The Powertools metrics namespace the functions publish to (through embedded metric format logs). @default 'Fanout' */
  metricsNamespace: string;
  /** @default prefix */
  dashboardName: string;
  alarms: AlarmsDefinition;
}

/** The identities that cross between the clouds without keys. */
export interface FederationDefinition {
  /** The role the Google function assumes with a Google ID token (web identity federation). @default `${prefix}-from-gcp` */
  roleName: string;
  /** The audience of that ID token, which the role's trust policy requires. @default `${prefix}-aws-web-identity` */
  audience: string;
  /**
   * The roles of the functions that publish to Pub/Sub (ingest, the ingest step, reconcile and the
   * processors): the Google workload
   * identity provider admits only these.
   */
  publisherRoleNames: string[];
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
  functions: FunctionsDefinition;
  ingestSteps: IngestStepsDefinition;
  streamFailures: StreamFailuresDefinition;
  reconcileSchedule: ReconcileScheduleDefinition;
  api: ApiDefinition;
  observability: ObservabilityDefinition;
  federation: FederationDefinition;
  /** How long job, task and stats items live after their last write. @default DEFAULT_JOB_TTL_SECONDS (604800, 7 days) */
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
  const {
    prefix,
    awsTargets,
    processorTimeoutSeconds,
    ingestStepTimeoutSeconds,
    maxConcurrentTasks,
    logRetentionDays,
  } = parseResourceOptions(OptionsSchema, options, 'resource options');
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
      uploadsPrefix: 'uploads/',
      expireAfterDays: 7,
      accessLogsName: `${prefix}-access-logs`,
    },
    queues: awsTargets.map((target) => ({
      target,
      name: `${prefix}-${target}`,
      deadLetterName: `${prefix}-${target}-dlq`,
      processorName: processorName(prefix, target),
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
      maxConcurrency: maxConcurrentTasks,
      leaseMs: (visibilityTimeoutSeconds - processorTimeoutSeconds) * 1000,
    },
    stats: { batchSize: 1000, maxBatchingWindowSeconds: 5, retryAttempts: 3 },
    functions: {
      ingest: { name: `${prefix}-ingest`, memoryMb: 1024, timeoutSeconds: 29 },
      stats: { name: `${prefix}-stats`, memoryMb: 512, timeoutSeconds: 60 },
      reconcile: { name: `${prefix}-reconcile`, memoryMb: 512, timeoutSeconds: 120 },
    },
    ingestSteps: {
      queueName: `${prefix}-ingest-steps`,
      deadLetterName: `${prefix}-ingest-steps-dlq`,
      functionName: `${prefix}-ingest-step`,
      timeoutSeconds: ingestStepTimeoutSeconds,
      memoryMb: 1024,
      visibilityTimeoutSeconds: 6 * ingestStepTimeoutSeconds,
      maxReceiveCount: 5,
      messageRetentionSeconds: 4 * DAY_SECONDS,
      deadLetterRetentionSeconds: 14 * DAY_SECONDS,
      maxConcurrency: maxConcurrentTasks,
    },
    streamFailures: { queueName: `${prefix}-stats-failures`, retentionSeconds: 14 * DAY_SECONDS },
    reconcileSchedule: { name: `${prefix}-reconcile`, rateMinutes: 1, maxEventAgeSeconds: 60 },
    api: { name: `${prefix}-api`, throttleRateLimit: 50, throttleBurstLimit: 100 },
    observability: {
      logRetentionDays,
      metricsNamespace: 'Fanout',
      dashboardName: prefix,
      alarms: {
        periodSeconds: 300,
        deadLetterMessages: 1,
        errorRatePercent: 5,
        oldestMessageAgeSeconds: 900,
        throttles: 1,
      },
    },
    federation: {
      roleName: `${prefix}-from-gcp`,
      audience: `${prefix}-aws-web-identity`,
      publisherRoleNames: [
        `${prefix}-ingest`,
        `${prefix}-ingest-step`,
        `${prefix}-reconcile`,
        ...awsTargets.map((target) => processorName(prefix, target)),
      ],
    },
    jobTtlSeconds: DEFAULT_JOB_TTL_SECONDS,
  };
};
