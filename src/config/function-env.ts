import { z } from 'zod';
import { DEFAULT_JOB_TTL_SECONDS } from '../core/constants.ts';
import type { Lanes } from '../core/lanes.ts';
import { EnvironmentError } from './errors.ts';
import { laneAddresses, queueAddress } from './queue-address.ts';
import { targetName } from './schema.ts';

/**
 * A claim's lease when `LEASE_MS` is unset: what `defineResources` gives a processor with its default
 * 60-second timeout (a 360-second visibility timeout minus the function's 60).
 */
export const DEFAULT_LEASE_MS = 300_000;

const NOT_SET = 'not set';

const text = z.string({ error: NOT_SET });

/** A whole number of `unit`, at least 1, in decimal digits. */
const wholeNumber = (unit: string) =>
  text
    .regex(/^[1-9]\d*$/, { error: (issue) => `a whole number of ${unit}, at least 1; got "${issue.input}"` })
    .transform(Number);

/** A variable that holds JSON: it is parsed, then checked against `schema`. */
const json = <T extends z.ZodType>(schema: T) =>
  text
    .transform((value, context): unknown => {
      try {
        return JSON.parse(value);
      } catch {
        context.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/**
 * The only external-account configuration accepted: AWS-sourced Workload Identity Federation. Checked
 * before use, because a credential configuration can make the client fetch from any URL it names.
 */
const AwsExternalAccount = z.looseObject({
  type: z.literal('external_account'),
  audience: z.string().startsWith('//iam.googleapis.com/'),
  subject_token_type: z.literal('urn:ietf:params:aws:token-type:aws4_request'),
  token_url: z.url(),
  credential_source: z.looseObject({
    environment_id: z.string().startsWith('aws'),
    regional_cred_verification_url: z.string().min(1),
  }),
  service_account_impersonation_url: z.url().optional(),
});

/**
 * Every variable a function of a deployment reads. The deployers (the CDK stack, the Google deploy plan,
 * emulator mode) set them with {@link functionEnvironment}; the functions read them with
 * {@link parseFunctionEnvironment}. `FANOUT_*` variables other than `FANOUT_TARGETS` are configuration
 * keys, which `loadConfig` reads (see `schema.ts`); the AWS SDK and the Google clients read their own.
 */
export const FunctionEnvironment = z.object({
  /** The task table: jobs, tasks, summaries and stats. Read by ingest, the processors and stats. */
  TABLE_NAME: text,
  /** The data bucket: inputs and results. Read by ingest and the processors. */
  BUCKET_NAME: text,
  /**
   * Every target's queues, one a lane, as a JSON object of target name to lanes, each lane an SQS queue
   * URL or a Pub/Sub topic path `projects/P/topics/T`:
   * `{"aws": {"high": url, "medium": url, "low": url}, "gcp": {"high": topic, …}}`. Where ingest sends
   * first tries and a processor sends retries, each in its job's lane. Read by ingest and the processors.
   */
  QUEUES: json(
    z
      .record(targetName, laneAddresses, {
        error: (issue) => (issue.code === 'invalid_key' ? 'not a target name' : 'a JSON object'),
      })
      .refine((queues) => Object.keys(queues).length > 0, 'names no queue'),
  ),
  /**
   * How long a job, its tasks and its summary are kept after their last write, in seconds.
   * Read by ingest, the processors and stats.
   * @default DEFAULT_JOB_TTL_SECONDS (3600, one hour)
   */
  JOB_TTL_SECONDS: wholeNumber('seconds').default(DEFAULT_JOB_TTL_SECONDS),
  /**
   * The jobs' default targets, comma-separated: the configuration key `targets`, set to every target in
   * `QUEUES` so that a job that names none runs wherever the deployment can. Read by ingest.
   * @default the configuration's `targets`
   */
  FANOUT_TARGETS: text
    .transform((names) =>
      names
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    )
    .pipe(z.array(targetName).min(1))
    .optional(),
  /**
   * The configuration key `cost.target_clouds`, set from `QUEUES` (an SQS queue: `aws`, a topic: `gcp`)
   * so that every target ingest may use is priced as the cloud its queues are on, whatever its name.
   * Read by ingest (`loadConfig`).
   * @default the configuration's `cost.target_clouds`
   */
  FANOUT_COST_TARGET_CLOUDS: text.optional(),
  /**
   * The SQS queue of ingest steps: where ingest sends a job's first step and a step the next one. Read by
   * ingest and the ingest step.
   */
  INGEST_STEPS: z.url({ error: 'an SQS queue URL' }),
  /** The target this processor consumes; it is also where the processor's retries may go. Read by the processors. */
  TARGET: text.pipe(targetName),
  /** The target's dead-letter queue or topic, where a chunk that failed for good is copied. Read by the processors. */
  DEAD_LETTER: text.pipe(queueAddress),
  /**
   * A claim's lease, in milliseconds: shorter than the queue's redelivery delay (see `defineResources`).
   * Read by the processors.
   * @default DEFAULT_LEASE_MS (300000)
   */
  LEASE_MS: wholeNumber('milliseconds').default(DEFAULT_LEASE_MS),
  /**
   * The Google project of the Pub/Sub targets. Read by ingest and the processors when a queue is a topic.
   * @default the Pub/Sub client's own detection
   */
  GOOGLE_CLOUD_PROJECT: text.optional(),
  /**
   * For a function on AWS that publishes to Pub/Sub: a Workload Identity Federation configuration (JSON)
   * that trades the function's AWS identity for a Google token; no key file. Read by ingest and the
   * processors.
   * @default none: the Google client's own detection (or an emulator, which needs none)
   */
  GCP_CREDENTIALS: json(AwsExternalAccount).optional(),
  /**
   * For a function on Google Cloud: the role it assumes with a Google identity token for
   * `AWS_WEB_IDENTITY_AUDIENCE`; set both or neither. Read by ingest and the processors.
   * @default none: the AWS SDK's default credential chain
   */
  AWS_ROLE_ARN: text.regex(/^arn:[\w-]+:iam::\d{12}:role\/.+$/, 'an IAM role ARN').optional(),
  /** The audience of the Google identity token traded for `AWS_ROLE_ARN`. Read by ingest and the processors. */
  AWS_WEB_IDENTITY_AUDIENCE: text.optional(),
  /**
   * The AWS region, for the web identity exchange. Lambda sets it; the Google deploy plan sets it on the
   * Google function. Read by ingest and the processors, and by the AWS SDK.
   */
  AWS_REGION: text.optional(),
  /**
   * An AWS emulator's endpoint (`fanout emulators start` sets it): S3 is then addressed by path, and STS
   * is reached there too. Read by ingest and the processors, and by the AWS SDK.
   */
  AWS_ENDPOINT_URL: z.url({ error: 'a URL' }).optional(),
  /**
   * Where the metadata server that mints Google identity tokens is, as Google's own clients allow.
   * Read by ingest and the processors. @default 'metadata.google.internal'
   */
  GCE_METADATA_HOST: text.optional(),
  /**
   * The EventBridge bus a job's end goes to (`default`, the account's default bus). Read by stats.
   * @default none: no EventBridge events
   */
  JOB_EVENTS_BUS: text.optional(),
  /**
   * The Pub/Sub topic a job's end is published to, `projects/P/topics/T`, when a Google project is part
   * of the deployment. Read by stats. @default none: nothing published
   */
  JOB_EVENTS_TOPIC: text
    .regex(/^projects\/[^/]+\/topics\/[^/]+$/, 'a topic path projects/P/topics/T')
    .optional(),
  /**
   * The Secrets Manager secret (its ARN) that holds `notify.webhook_secret`, read once per container so the
   * secret stays out of the function's configuration. Read by ingest and stats.
   * @default none: the secret comes from `FANOUT_NOTIFY_WEBHOOK_SECRET`, or webhooks are off
   */
  NOTIFY_WEBHOOK_SECRET_ID: text.optional(),
  /** Set by Lambda: the AWS processor's worker id in its claims. Read by the processors. */
  AWS_LAMBDA_LOG_STREAM_NAME: text.optional(),
  /** Set by Cloud Run: the Google processor's worker id in its claims. Read by the processors. */
  K_REVISION: text.optional(),
});
export type FunctionEnvironment = z.output<typeof FunctionEnvironment>;
type Variable = keyof FunctionEnvironment;

/** What the cloud runtime reads, for ingest and the processors alike. */
const RUNTIME_READS = {
  TABLE_NAME: true,
  BUCKET_NAME: true,
  QUEUES: true,
  JOB_TTL_SECONDS: true,
  GOOGLE_CLOUD_PROJECT: true,
  GCP_CREDENTIALS: true,
  AWS_ROLE_ARN: true,
  AWS_WEB_IDENTITY_AUDIENCE: true,
  AWS_REGION: true,
  AWS_ENDPOINT_URL: true,
  GCE_METADATA_HOST: true,
} as const;

/** Which variables each function reads; the AWS and the Google processor read the same. */
export const FUNCTION_READS = {
  ingest: {
    ...RUNTIME_READS,
    FANOUT_TARGETS: true,
    FANOUT_COST_TARGET_CLOUDS: true,
    INGEST_STEPS: true,
    NOTIFY_WEBHOOK_SECRET_ID: true,
  },
  'ingest-step': { ...RUNTIME_READS, INGEST_STEPS: true },
  processor: {
    ...RUNTIME_READS,
    TARGET: true,
    DEAD_LETTER: true,
    LEASE_MS: true,
    AWS_LAMBDA_LOG_STREAM_NAME: true,
    K_REVISION: true,
  },
  stats: {
    TABLE_NAME: true,
    BUCKET_NAME: true,
    AWS_ENDPOINT_URL: true,
    JOB_TTL_SECONDS: true,
    JOB_EVENTS_BUS: true,
    JOB_EVENTS_TOPIC: true,
    NOTIFY_WEBHOOK_SECRET_ID: true,
    GOOGLE_CLOUD_PROJECT: true,
    GCP_CREDENTIALS: true,
  },
  reconcile: RUNTIME_READS,
} as const satisfies Record<string, Partial<Record<Variable, true>>>;

export type FunctionName = keyof typeof FUNCTION_READS;

/** The rules between variables, checked once each variable is well-formed by itself. */
const checkTogether = (environment: Partial<FunctionEnvironment>, context: z.RefinementCtx): void => {
  if (context.issues.length > 0) return;
  const targets = Object.keys(environment.QUEUES ?? {});
  const outside = (names: readonly string[]) => names.filter((name) => !targets.includes(name));
  if (environment.TARGET !== undefined && outside([environment.TARGET]).length > 0) {
    context.addIssue({
      code: 'custom',
      path: ['TARGET'],
      message: `${environment.TARGET} is not one of the targets in QUEUES (${targets.join(', ')}); a processor sends retries to its own target too`,
    });
  }
  const unknown = outside(environment.FANOUT_TARGETS ?? []);
  if (unknown.length > 0) {
    context.addIssue({
      code: 'custom',
      path: ['FANOUT_TARGETS'],
      message: `${unknown.join(', ')} not among the targets in QUEUES (${targets.join(', ')})`,
    });
  }
  const { AWS_ROLE_ARN: role, AWS_WEB_IDENTITY_AUDIENCE: audience } = environment;
  if ((role === undefined) !== (audience === undefined)) {
    context.addIssue({
      code: 'custom',
      path: [role === undefined ? 'AWS_ROLE_ARN' : 'AWS_WEB_IDENTITY_AUDIENCE'],
      message: 'set both AWS_ROLE_ARN and AWS_WEB_IDENTITY_AUDIENCE for web identity federation, or neither',
    });
  }
};

const SCHEMAS = {
  ingest: FunctionEnvironment.pick(FUNCTION_READS.ingest).superRefine(checkTogether),
  'ingest-step': FunctionEnvironment.pick(FUNCTION_READS['ingest-step']).superRefine(checkTogether),
  processor: FunctionEnvironment.pick(FUNCTION_READS.processor).superRefine(checkTogether),
  stats: FunctionEnvironment.pick(FUNCTION_READS.stats),
  reconcile: FunctionEnvironment.pick(FUNCTION_READS.reconcile),
};

/** The variables a function reads, parsed, with their defaults. */
export type EnvironmentOf<F extends FunctionName> = z.output<(typeof SCHEMAS)[F]>;

const describeIssues = (fn: FunctionName, issues: readonly z.core.$ZodIssue[]): string => {
  const variables = new Set(issues.map((issue) => issue.path[0]));
  const problems = issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  return `the ${fn} function's environment has ${variables.size} bad or missing variable${variables.size === 1 ? '' : 's'}: ${problems.join('; ')}`;
};

/**
 * The variables function `fn` reads, checked all at once: a bad or missing one is an
 * {@link EnvironmentError} whose message names every one. An empty variable counts as unset.
 */
export const parseFunctionEnvironment = <F extends FunctionName>(
  fn: F,
  env: NodeJS.ProcessEnv = process.env,
): EnvironmentOf<F> => {
  const set = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = (SCHEMAS[fn] as z.ZodType).safeParse(set);
  if (!parsed.success) throw new EnvironmentError(describeIssues(fn, parsed.error.issues));
  return parsed.data as EnvironmentOf<F>;
};

/** What a deployer knows of the resources its functions reach. In the CDK stack the names are tokens. */
export interface FunctionDeployment {
  tableName: string;
  bucketName: string;
  /** Every target's queues, one a lane: SQS queue URLs or Pub/Sub topic paths (see `topicPath`). */
  queues: Readonly<Record<string, Lanes<string>>>;
  jobTtlSeconds: number;
  /** The SQS queue of ingest steps. @default none: a deployment with no ingest (the Google side) */
  ingestSteps?: string;
  /** @default none: every target is on AWS */
  googleProject?: string;
  /** The EventBridge bus of job ends (`default`). @default none: no events */
  jobEventsBus?: string;
  /** The Pub/Sub topic of job ends, a topic path. @default none */
  jobEventsTopic?: string;
  /** The ARN of the Secrets Manager secret that holds the webhook secret. @default none */
  webhookSecretArn?: string;
  /** For functions on AWS that publish to Pub/Sub: the external-account configuration (JSON). @default none */
  gcpCredentials?: string;
  /** For functions on Google Cloud: the AWS role they assume, and where. @default none */
  awsRole?: { region: string; arn: string; audience: string };
}

/** One function of a deployment; there is a processor per target. */
export type DeployedFunction =
  | { name: 'ingest' | 'ingest-step' | 'stats' | 'reconcile' }
  | { name: 'processor'; target: string; deadLetter: string; leaseMs: number };

/** The environment function `fn` of a deployment must hold: the variables it reads, and no others. */
export const functionEnvironment = (
  deployment: FunctionDeployment,
  fn: DeployedFunction,
): Record<string, string> => {
  const every: Partial<Record<Variable, string>> = {
    TABLE_NAME: deployment.tableName,
    BUCKET_NAME: deployment.bucketName,
    QUEUES: JSON.stringify(deployment.queues),
    JOB_TTL_SECONDS: String(deployment.jobTtlSeconds),
    FANOUT_TARGETS: Object.keys(deployment.queues).join(','),
    // In the CDK stack an SQS queue's URL is a token until deploy time, never a topic path.
    FANOUT_COST_TARGET_CLOUDS: Object.entries(deployment.queues)
      .map(([target, { high }]) => `${target}=${high.startsWith('projects/') ? 'gcp' : 'aws'}`)
      .join(','),
    INGEST_STEPS: deployment.ingestSteps,
    JOB_EVENTS_BUS: deployment.jobEventsBus,
    JOB_EVENTS_TOPIC: deployment.jobEventsTopic,
    NOTIFY_WEBHOOK_SECRET_ID: deployment.webhookSecretArn,
    GOOGLE_CLOUD_PROJECT: deployment.googleProject,
    GCP_CREDENTIALS: deployment.gcpCredentials,
    AWS_REGION: deployment.awsRole?.region,
    AWS_ROLE_ARN: deployment.awsRole?.arn,
    AWS_WEB_IDENTITY_AUDIENCE: deployment.awsRole?.audience,
    ...(fn.name === 'processor' && {
      TARGET: fn.target,
      DEAD_LETTER: fn.deadLetter,
      LEASE_MS: String(fn.leaseMs),
    }),
  };
  const reads: Partial<Record<Variable, true>> = FUNCTION_READS[fn.name];
  return Object.fromEntries(
    Object.entries(every).filter(
      (entry): entry is [Variable, string] => entry[1] !== undefined && reads[entry[0] as Variable] === true,
    ),
  );
};
