import { parseArgs } from 'node:util';
import { z } from 'zod';
import { FanoutError } from '../core/errors.ts';
import { ResourceOptionsError } from './errors.ts';
import { defineGcpResources, type GcpResourceOptions, type GcpResources } from './gcp-resources.ts';
import { defineResources, type Resources } from './resources.ts';

/** Inputs of `npm run deploy:gcp` that are missing or wrong; the message names every one. */
export class DeployInputError extends FanoutError {
  constructor(message: string) {
    super(message);
    this.name = 'DeployInputError';
  }
}

/** What the Google side is deployed from. */
export interface DeployGcpInputs {
  project: string;
  region: string;
  awsAccountId: string;
  awsRegion: string;
  /** The role the Google functions assume. @default resources.federation.roleName */
  awsRoleName: string;
  /** Print the plan as a shell script instead of running it. @default false */
  dryRun: boolean;
  /** The AWS side's definitions, from the same options as the stack's (prefix, targets, timeout). */
  resources: Resources;
  gcp: GcpResources;
}

/** One input: its flag, the environment variable it may come from, and its rule. */
interface InputSpec {
  flag: string;
  env?: string;
  schema: z.ZodType;
}

const INPUTS = {
  project: {
    flag: 'project',
    env: 'GOOGLE_CLOUD_PROJECT',
    schema: z
      .string({ error: 'required' })
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a project id: 6-30 lowercase letters, digits and -'),
  },
  region: {
    flag: 'region',
    env: 'GOOGLE_CLOUD_REGION',
    schema: z
      .string({ error: 'required' })
      .regex(/^[a-z]+-[a-z]+\d+$/, 'a Cloud Functions region, e.g. europe-west1'),
  },
  awsAccountId: {
    flag: 'aws-account-id',
    env: 'AWS_ACCOUNT_ID',
    schema: z.string({ error: 'required' }).regex(/^\d{12}$/, 'an AWS account id: 12 digits'),
  },
  awsRegion: {
    flag: 'aws-region',
    env: 'AWS_REGION',
    schema: z
      .string({ error: 'required' })
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region, e.g. eu-west-1'),
  },
  awsRoleName: {
    flag: 'aws-role-name',
    schema: z
      .string()
      .regex(/^[\w+=,.@-]{1,64}$/, 'an IAM role name: up to 64 letters, digits and +=,.@_-')
      .optional(),
  },
  prefix: { flag: 'prefix', schema: z.string().optional() },
  awsTargets: { flag: 'aws-targets', schema: z.string().optional() },
  gcpTargets: { flag: 'gcp-targets', schema: z.string().optional() },
  maxConcurrentTasks: { flag: 'max-concurrent-tasks', schema: z.coerce.number().optional() },
  /** priority.shares, as `high=60,medium=30,low=10`: each lane's part of maxConcurrentTasks. */
  laneShares: {
    flag: 'lane-shares',
    schema: z
      .string()
      .regex(
        /^\s*[a-z]+=\d+(\s*,\s*[a-z]+=\d+)*\s*$/,
        'each lane and its percent, e.g. high=60,medium=30,low=10',
      )
      .transform((text) =>
        Object.fromEntries(
          text.split(',').map((pair) => {
            const [lane, share] = pair.split('=');
            return [lane?.trim(), Number(share)];
          }),
        ),
      )
      .optional(),
  },
  processorTimeoutSeconds: { flag: 'processor-timeout-seconds', schema: z.coerce.number().optional() },
  /** jobs.ttl_seconds: the functions' JOB_TTL_SECONDS and the topics' retention. */
  jobTtlSeconds: { flag: 'job-ttl-seconds', schema: z.coerce.number().optional() },
} satisfies Record<string, InputSpec>;

type InputValues = { [K in keyof typeof INPUTS]: z.output<(typeof INPUTS)[K]['schema']> };

/** The flags, for `--help`. */
export const DEPLOY_GCP_USAGE = [
  'npm run deploy:gcp -- --project ID --region REGION --aws-account-id 123456789012 --aws-region REGION [options]',
  '',
  ...Object.values(INPUTS).map(
    (input: InputSpec) => `  --${input.flag}${input.env === undefined ? '' : ` (or ${input.env})`}`,
  ),
  '  --dry-run          print the gcloud commands, as an idempotent shell script, without running them',
].join('\n');

/** Google Cloud's naming rules for what the deploy derives from the prefix and targets. */
const nameIssues = (resources: Resources, gcp: GcpResources, awsAccountId: string | undefined): string[] => {
  const issues: string[] = [];
  for (const id of Object.values(gcp.serviceAccounts)) {
    if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(id)) {
      issues.push(
        `--prefix: the service account id ${id} must be 6-30 characters; use a prefix of at most 20`,
      );
    }
  }
  const { pool } = gcp.workloadIdentity;
  if (pool.length > 32 || pool.startsWith('gcp-')) {
    issues.push(
      `--prefix: the workload identity pool id ${pool} must be at most 32 characters and not start with gcp-`,
    );
  }
  for (const lane of gcp.targets.flatMap((target) => Object.values(target.lanes))) {
    if (lane.functionName.length > 63)
      issues.push(`--gcp-targets: the function name ${lane.functionName} is longer than 63 characters`);
  }
  // google.subject, the caller's assumed-role ARN (role and session are both the function's name), is at most 127 bytes.
  for (const role of awsAccountId === undefined ? [] : resources.federation.publisherRoleNames) {
    const subject = `arn:aws:sts::${awsAccountId}:assumed-role/${role}/${role}`;
    if (subject.length > 127) {
      issues.push(`--prefix: the AWS caller ${subject} is longer than the 127 bytes of a Google subject`);
    }
  }
  return issues;
};

const list = (text: string | undefined): string[] | undefined =>
  text
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/**
 * The deploy's inputs from its flags, falling back to environment variables for the project, regions and
 * AWS account. Everything is checked before anything runs; a {@link DeployInputError} names every input
 * that is missing or wrong, with its flag.
 */
export const parseDeployGcpInputs = (argv: readonly string[], env: NodeJS.ProcessEnv): DeployGcpInputs => {
  const issues: string[] = [];
  const options = Object.fromEntries([
    ...Object.values(INPUTS).map((input: InputSpec) => [input.flag, { type: 'string' }] as const),
    ['dry-run', { type: 'boolean' }] as const,
  ]);
  const { values, tokens } = parseArgs({ args: [...argv], options, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') issues.push(`${token.value}: not a flag of deploy:gcp`);
    if (token.kind === 'option' && !(token.name in options))
      issues.push(`--${token.name}: not a flag of deploy:gcp`);
  }
  const read: Record<string, unknown> = {};
  for (const [key, input] of Object.entries(INPUTS) as [string, InputSpec][]) {
    const given = values[input.flag] ?? (input.env === undefined ? undefined : env[input.env] || undefined);
    const parsed = input.schema.safeParse(given);
    const source = `--${input.flag}${input.env === undefined ? '' : ` (or ${input.env})`}`;
    if (parsed.success) read[key] = parsed.data;
    else issues.push(...parsed.error.issues.map((issue) => `${source}: ${issue.message}`));
  }
  const inputs = read as Partial<InputValues>;
  const defined = <T>(define: () => T): T | undefined => {
    try {
      return define();
    } catch (error) {
      if (!(error instanceof ResourceOptionsError)) throw error;
      issues.push(
        `${error.message} (from --prefix, --aws-targets, --gcp-targets, --lane-shares and the numbers)`,
      );
      return undefined;
    }
  };
  // What both clouds' resources take from the same inputs.
  const shared = {
    ...(inputs.prefix !== undefined && { prefix: inputs.prefix }),
    ...(inputs.processorTimeoutSeconds !== undefined && {
      processorTimeoutSeconds: inputs.processorTimeoutSeconds,
    }),
    ...(inputs.jobTtlSeconds !== undefined && { jobTtlSeconds: inputs.jobTtlSeconds }),
  };
  const resources = defined(() =>
    defineResources({
      ...shared,
      ...(inputs.awsTargets !== undefined && { awsTargets: list(inputs.awsTargets) }),
    }),
  );
  const gcp = defined(() =>
    defineGcpResources({
      ...shared,
      ...(inputs.gcpTargets !== undefined && { gcpTargets: list(inputs.gcpTargets) }),
      ...(inputs.maxConcurrentTasks !== undefined && { maxConcurrentTasks: inputs.maxConcurrentTasks }),
      ...(inputs.laneShares !== undefined && {
        laneShares: inputs.laneShares as GcpResourceOptions['laneShares'],
      }),
    }),
  );
  if (resources !== undefined && gcp !== undefined)
    issues.push(...nameIssues(resources, gcp, inputs.awsAccountId));
  if (issues.length > 0 || resources === undefined || gcp === undefined) {
    throw new DeployInputError(
      `deploy:gcp cannot start:\n${issues.map((issue) => `  - ${issue}`).join('\n')}\n\n${DEPLOY_GCP_USAGE}`,
    );
  }
  return {
    project: inputs.project as string,
    region: inputs.region as string,
    awsAccountId: inputs.awsAccountId as string,
    awsRegion: inputs.awsRegion as string,
    awsRoleName: inputs.awsRoleName ?? resources.federation.roleName,
    dryRun: values['dry-run'] === true,
    resources,
    gcp,
  };
};
