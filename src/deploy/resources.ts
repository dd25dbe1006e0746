import { z } from 'zod';
import { JOBS_INDEX } from '../adapters/aws/dynamo-task-items.ts';
import { laneShares, targetName } from '../config/schema.ts';
import { DEFAULT_JOB_TTL_SECONDS, PRIORITIES, RUNNING_JOB_RETENTION_SECONDS } from '../core/constants.ts';
import { apportion, byLane, DEFAULT_LANE_SHARES } from '../core/lanes.ts';
import { ResourceOptionsError } from './errors.ts';
import type { BucketDefinition, Resources } from './resource-definitions.ts';

export type * from './resource-definitions.ts';

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

/**
 * S3 lifecycle rules count whole days from an object's creation, not from the job's end: a job's inputs
 * and results are kept for the TTL rounded up to days, or for as long as a job may run if that is longer
 * (`RUNNING_JOB_RETENTION_SECONDS`), so a long job never loses its first outputs. Once the job item has
 * expired, nothing reaches them.
 */
export const jobDataDays = (ttlSeconds: number): number =>
  Math.ceil(Math.max(ttlSeconds, RUNNING_JOB_RETENTION_SECONDS) / DAY_SECONDS);

/**
 * The data bucket's lifecycle rules: a job's inputs and results go `jobDataExpireAfterDays` after they
 * were written, uploads `expireAfterDays`. The CDK stack and the emulator's provisioning both use these.
 */
export const dataLifecycle = (bucket: BucketDefinition): { id: string; prefix: string; days: number }[] => [
  { id: 'expire-inputs', prefix: bucket.inputsPrefix, days: bucket.jobDataExpireAfterDays },
  { id: 'expire-results', prefix: bucket.resultsPrefix, days: bucket.jobDataExpireAfterDays },
  { id: 'expire-uploads', prefix: bucket.uploadsPrefix, days: bucket.expireAfterDays },
];

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
    // The seed configuration's max_concurrent_tasks, shared by the lanes: 20 is the least at which the
    // default 10% low lane gets SQS's least of 2.
    maxConcurrentTasks: z.number().int().min(Limits.minConcurrency).max(Limits.maxConcurrency).default(20),
    // priority.shares: each lane's part of maxConcurrentTasks.
    laneShares: laneShares.default({ ...DEFAULT_LANE_SHARES }),
    logRetentionDays: z
      .number()
      .int()
      .refine(
        (days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days),
        `CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days`,
      )
      .default(30),
    // jobs.ttl_seconds: the table's TTL and the lifecycle of inputs/ and results/ follow it.
    jobTtlSeconds: z.number().int().min(1).default(DEFAULT_JOB_TTL_SECONDS),
  })
  .superRefine(({ prefix, awsTargets, maxConcurrentTasks, laneShares: shares }, context) => {
    const concurrency = apportion(maxConcurrentTasks, shares);
    for (const lane of PRIORITIES) {
      if (concurrency[lane] >= Limits.minConcurrency) continue;
      const enough = Math.ceil((Limits.minConcurrency * 100) / shares[lane]);
      context.addIssue({
        code: 'custom',
        path: ['laneShares', lane],
        message: `the ${lane} lane gets ${concurrency[lane]} of maxConcurrentTasks ${maxConcurrentTasks}; SQS's least is ${Limits.minConcurrency}: raise maxConcurrentTasks to ${enough} or the ${lane} share`,
      });
    }
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
    laneShares: shares,
    logRetentionDays,
    jobTtlSeconds,
  } = parseResourceOptions(OptionsSchema, options, 'resource options');
  const visibilityTimeoutSeconds = 6 * processorTimeoutSeconds;
  const laneConcurrency = apportion(maxConcurrentTasks, shares);
  return {
    prefix,
    table: {
      name: `${prefix}-tasks`,
      partitionKey: 'pk',
      sortKey: 'sk',
      ttlAttribute: 'expiresAt',
      streamView: 'NEW_AND_OLD_IMAGES',
      jobsIndex: JOBS_INDEX,
    },
    bucket: {
      name: `${prefix}-data`,
      inputsPrefix: 'inputs/',
      resultsPrefix: 'results/',
      uploadsPrefix: 'uploads/',
      expireAfterDays: 7,
      jobDataExpireAfterDays: jobDataDays(jobTtlSeconds),
      accessLogsName: `${prefix}-access-logs`,
    },
    queues: awsTargets.map((target) => ({
      target,
      lanes: byLane((lane) => ({
        name: `${prefix}-${target}-${lane}`,
        maxConcurrency: laneConcurrency[lane],
      })),
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
        // It publishes job ends to the Google topic of job events.
        `${prefix}-stats`,
        ...awsTargets.map((target) => processorName(prefix, target)),
      ],
    },
    jobTtlSeconds,
    jobEventsBus: 'default',
  };
};
