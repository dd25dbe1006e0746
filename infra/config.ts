import { z } from 'zod';
import { laneShares } from '../src/config/schema.ts';
import { ResourceOptionsError } from '../src/deploy/errors.ts';
import { defineGcpResources, type GcpResources } from '../src/deploy/gcp-resources.ts';
import { defineResources, type Resources } from '../src/deploy/resources.ts';

/** The stack's context is wrong; the message names every bad key, one a line. */
export class StackConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackConfigError';
  }
}

/** How callers of the HTTP API authenticate. */
export type ApiAuthorization =
  | { kind: 'iam' }
  | {
      kind: 'jwt';
      /** The token issuer, an `https://` URL. */
      issuer: string;
      /** The audiences a token may be for (its `aud` or `client_id`). */
      audience: string[];
    };

/** What the AWS side needs of the Google side that `npm run deploy:gcp` made. */
export interface GoogleConfig {
  /** The project id. */
  project: string;
  /** The project number, part of the workload identity provider's name. */
  projectNumber: string;
  /** The unique id of the service account the Google function runs as, which the federation role trusts. */
  processorUniqueId: string;
  resources: GcpResources;
}

/** Everything the stack is built from. */
export interface StackConfig {
  resources: Resources;
  /** @default { kind: 'iam' } */
  authorization: ApiAuthorization;
  /** @default undefined: AWS targets only, and no federation role */
  google?: GoogleConfig;
  /**
   * For a local AWS emulator (`npm run deploy:emulator`): the stack leaves out what an emulator cannot
   * run, the event sources that would invoke the functions; emulator mode's own pollers do their work.
   * @default false
   */
  emulator: boolean;
  /**
   * The Secrets Manager secret that holds `notify.webhook_secret` (its complete ARN): ingest and stats
   * may read it, and read it at cold start. @default undefined: no webhooks unless set by hand
   */
  webhookSecretArn?: string;
}

// `cdk -c key=value` gives strings; cdk.json gives JSON values. Both are accepted.
const integer = z.preprocess(
  (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
  z.number(),
);
const list = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '')
      : value,
  z.array(z.string()),
);
const digits = (count: string, what: string) =>
  z.preprocess(
    (value) => (typeof value === 'number' ? String(value) : value),
    z.string().regex(new RegExp(`^\\d{${count}}$`), what),
  );

/**
 * `priority.shares`, as `-c priorityShares=high=70,medium=20,low=10` gives it, or as an object in
 * cdk.json; checked as the configuration checks it.
 */
const shares = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? Object.fromEntries(
          value.split(',').map((pair) => {
            const [lane = '', share = ''] = pair.split('=').map((part) => part.trim());
            return [lane, /^\d+$/.test(share) ? Number(share) : share];
          }),
        )
      : value,
  laneShares,
);

const ContextSchema = z.object({
  prefix: z.string().optional(),
  awsTargets: list.optional(),
  processorTimeoutSeconds: integer.optional(),
  maxConcurrentTasks: integer.optional(),
  priorityShares: shares.optional(),
  logRetentionDays: integer.optional(),
  /** jobs.ttl_seconds, as `cdk -c jobTtlSeconds=...` gives it. */
  jobTtlSeconds: integer.optional(),
  authorization: z.enum(['iam', 'jwt']).default('iam'),
  jwtIssuer: z.url({ protocol: /^https$/, error: 'an https:// URL' }).optional(),
  jwtAudience: list.pipe(z.array(z.string()).min(1)).optional(),
  gcpProject: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
      'a Google Cloud project id: 6-30 lowercase letters, digits and -',
    )
    .optional(),
  gcpProjectNumber: digits('1,19', 'a Google Cloud project number: digits only').optional(),
  gcpServiceAccountUniqueId: digits('21', "a service account's unique id: 21 digits").optional(),
  gcpTargets: list.optional(),
  emulator: z
    .preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean())
    .default(false),
  webhookSecretArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
      "a secret's complete ARN (with its six-character suffix)",
    )
    .optional(),
});

type Context = z.output<typeof ContextSchema>;

/** The context read key by key, so that one bad value does not hide the others; a bad key reads as unset. */
interface ParsedContext {
  values: Context;
  /** Keys whose values were refused: checks that depend on them are skipped, to report no false issues. */
  refused: Set<string>;
}

/** The keys this app reads; any other plain key is a typo. Feature flags and CDK's own keys contain ':'. */
export const CONTEXT_KEYS = Object.keys(ContextSchema.shape);

const isAppKey = (key: string): boolean => !key.includes(':') && !key.startsWith('@');

const parseContext = (context: Record<string, unknown>, issues: string[]): ParsedContext => {
  const values: Record<string, unknown> = {};
  const refused = new Set<string>();
  for (const [key, schema] of Object.entries(ContextSchema.shape)) {
    const parsed = schema.safeParse(context[key]);
    if (parsed.success) {
      values[key] = parsed.data;
      continue;
    }
    refused.add(key);
    for (const issue of parsed.error.issues)
      issues.push(`${[key, ...issue.path].join('.')}: ${issue.message}`);
  }
  return { values: values as Context, refused };
};

const resourcesOf = (context: Context, issues: string[]): Resources | undefined => {
  try {
    return defineResources({
      ...(context.prefix !== undefined && { prefix: context.prefix }),
      ...(context.awsTargets !== undefined && { awsTargets: context.awsTargets }),
      ...(context.processorTimeoutSeconds !== undefined && {
        processorTimeoutSeconds: context.processorTimeoutSeconds,
      }),
      ...(context.maxConcurrentTasks !== undefined && { maxConcurrentTasks: context.maxConcurrentTasks }),
      ...(context.priorityShares !== undefined && { laneShares: context.priorityShares }),
      ...(context.logRetentionDays !== undefined && { logRetentionDays: context.logRetentionDays }),
      ...(context.jobTtlSeconds !== undefined && { jobTtlSeconds: context.jobTtlSeconds }),
    });
  } catch (error) {
    if (!(error instanceof ResourceOptionsError)) throw error;
    issues.push(error.message);
    return undefined;
  }
};

const authorizationOf = ({ values: context, refused }: ParsedContext, issues: string[]): ApiAuthorization => {
  if (refused.has('authorization')) return { kind: 'iam' };
  if (context.authorization === 'iam') {
    for (const key of ['jwtIssuer', 'jwtAudience'] as const) {
      if (context[key] !== undefined) issues.push(`${key}: only used with authorization=jwt`);
    }
    return { kind: 'iam' };
  }
  for (const key of ['jwtIssuer', 'jwtAudience'] as const) {
    if (context[key] === undefined && !refused.has(key))
      issues.push(`${key}: required with authorization=jwt`);
  }
  return { kind: 'jwt', issuer: context.jwtIssuer ?? '', audience: context.jwtAudience ?? [] };
};

const googleOf = (
  { values: context, refused }: ParsedContext,
  issues: string[],
): GoogleConfig | undefined => {
  const { gcpProject: project, gcpProjectNumber, gcpServiceAccountUniqueId, gcpTargets } = context;
  if (refused.has('gcpProject')) return undefined;
  if (project === undefined) {
    for (const key of ['gcpProjectNumber', 'gcpServiceAccountUniqueId', 'gcpTargets'] as const) {
      if (context[key] !== undefined) issues.push(`${key}: only used with gcpProject`);
    }
    return undefined;
  }
  if (gcpProjectNumber === undefined && !refused.has('gcpProjectNumber')) {
    issues.push('gcpProjectNumber: required with gcpProject');
  }
  if (gcpServiceAccountUniqueId === undefined && !refused.has('gcpServiceAccountUniqueId')) {
    issues.push('gcpServiceAccountUniqueId: required with gcpProject (npm run deploy:gcp prints it)');
  }
  let resources: GcpResources | undefined;
  try {
    resources = defineGcpResources({
      ...(context.prefix !== undefined && { prefix: context.prefix }),
      ...(gcpTargets !== undefined && { gcpTargets }),
      ...(context.maxConcurrentTasks !== undefined && { maxConcurrentTasks: context.maxConcurrentTasks }),
    });
  } catch (error) {
    if (!(error instanceof ResourceOptionsError)) throw error;
    issues.push(error.message);
  }
  const clashes = (gcpTargets ?? ['gcp']).filter((target) =>
    (context.awsTargets ?? ['aws']).includes(target),
  );
  if (clashes.length > 0) issues.push(`gcpTargets: ${clashes.join(', ')} also named as AWS targets`);
  if (resources === undefined || gcpProjectNumber === undefined || gcpServiceAccountUniqueId === undefined) {
    return undefined;
  }
  return {
    project,
    projectNumber: gcpProjectNumber,
    processorUniqueId: gcpServiceAccountUniqueId,
    resources,
  };
};

/**
 * The stack's configuration from the CDK context (`cdk.json`, `-c key=value`), with defaults. Every
 * misconfiguration is collected first, and one {@link StackConfigError} names each bad key.
 */
export const readStackConfig = (context: Record<string, unknown>): StackConfig => {
  const issues: string[] = [];
  for (const key of Object.keys(context).filter(isAppKey)) {
    if (!CONTEXT_KEYS.includes(key))
      issues.push(`${key}: not a context key of this app (${CONTEXT_KEYS.join(', ')})`);
  }
  const parsed = parseContext(context, issues);
  const resources = resourcesOf(parsed.values, issues);
  const authorization = authorizationOf(parsed, issues);
  const google = googleOf(parsed, issues);
  if (issues.length > 0 || resources === undefined) {
    throw new StackConfigError(
      `invalid context (cdk.json or -c key=value):\n${issues.map((issue) => `  - ${issue}`).join('\n')}`,
    );
  }
  return {
    resources,
    authorization,
    ...(google !== undefined && { google }),
    emulator: parsed.values.emulator,
    ...(parsed.values.webhookSecretArn !== undefined && { webhookSecretArn: parsed.values.webhookSecretArn }),
  };
};
