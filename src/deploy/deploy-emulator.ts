import {
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, QueueDoesNotExist, type SQSClient } from '@aws-sdk/client-sqs';
import { DeployEmulatorError } from './errors.ts';
import type { Resources } from './resources.ts';

/** What `npm run deploy:emulator` and `destroy:emulator` do. */
export const EmulatorAction = { deploy: 'deploy', destroy: 'destroy' } as const;
export type EmulatorAction = (typeof EmulatorAction)[keyof typeof EmulatorAction];

/**
 * The environment the CDK CLI needs to deploy to the emulator at `AWS_ENDPOINT_URL`: the endpoint with
 * `localhost` for a loopback address (the CLI hands CloudFormation a template URL on the endpoint's host,
 * and an emulator reads the first label of `127.0.0.1` as a bucket name), and a region and keys when none
 * are set. Throws `DeployEmulatorError` when no endpoint is set, or one that is not an emulator's.
 */
export const emulatorDeployEnvironment = (env: NodeJS.ProcessEnv): Record<string, string> => {
  const endpoint = env.AWS_ENDPOINT_URL;
  if (!endpoint) {
    throw new DeployEmulatorError(
      'AWS_ENDPOINT_URL is not set; start an emulator first: eval "$(npx fanout emulators start)"',
    );
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new DeployEmulatorError(`AWS_ENDPOINT_URL is not a URL: ${endpoint}`);
  }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new DeployEmulatorError(
      `AWS_ENDPOINT_URL must name an emulator on this machine (localhost), got ${endpoint}; deploy to AWS with npx cdk deploy`,
    );
  }
  url.hostname = 'localhost';
  return {
    AWS_ENDPOINT_URL: url.origin,
    AWS_REGION: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
};

/** The CDK CLI runs of an action, each as its arguments to `cdk`. */
export const cdkRuns = (
  action: EmulatorAction,
  options: { prefix: string; outputsFile: string },
): string[][] => {
  const context = ['-c', 'emulator=true', '-c', `prefix=${options.prefix}`];
  const quiet = ['--no-notices', '--ci'];
  if (action === EmulatorAction.destroy) return [['destroy', '--force', ...context, ...quiet]];
  return [
    // The account and region are the ones the emulator answers for, as with AWS itself.
    ['bootstrap', ...context, ...quiet],
    ['deploy', '--require-approval', 'never', '--outputs-file', options.outputsFile, ...context, ...quiet],
  ];
};

/** A resource a destroyed stack keeps, and the command that deletes it. */
export interface Retained {
  name: string;
  deleteCommand: string;
}

/** Whether a read found the resource: false for the service's not-found error, which `missing` names. */
const exists = async (
  read: () => Promise<unknown>,
  missing: (error: unknown) => boolean,
): Promise<boolean> => {
  try {
    await read();
    return true;
  } catch (error) {
    if (missing(error)) return false;
    throw error;
  }
};

/**
 * What a destroyed stack of this prefix left behind (its table and buckets keep their data), which a new
 * stack cannot create again; empty while the stack is deployed (its queues, which a destroy deletes, are
 * there) or when nothing was left. An emulator's CloudFormation leaves such a deploy waiting for ever.
 */
export const leftBehind = async (
  resources: Resources,
  clients: { dynamo: DynamoDBClient; s3: S3Client; sqs: SQSClient },
): Promise<Retained[]> => {
  const queueName = resources.queues[0]?.lanes.medium.name;
  if (await exists(() => clients.sqs.send(new GetQueueUrlCommand({ QueueName: queueName })), isQueueMissing))
    return [];
  const { table, bucket } = resources;
  const candidates = [
    {
      name: `table ${table.name}`,
      deleteCommand: `aws dynamodb delete-table --table-name ${table.name}`,
      read: () => clients.dynamo.send(new DescribeTableCommand({ TableName: table.name })),
    },
    ...[bucket.name, bucket.accessLogsName].map((name) => ({
      name: `bucket ${name}`,
      deleteCommand: `aws s3 rb s3://${name} --force`,
      read: () => clients.s3.send(new HeadBucketCommand({ Bucket: name })),
    })),
  ];
  const found = await Promise.all(candidates.map(({ read }) => exists(read, isTableOrBucketMissing)));
  return candidates.filter((_, i) => found[i]).map(({ name, deleteCommand }) => ({ name, deleteCommand }));
};

const isQueueMissing = (error: unknown): boolean => error instanceof QueueDoesNotExist;
const isTableOrBucketMissing = (error: unknown): boolean =>
  error instanceof ResourceNotFoundException || error instanceof NotFound;

/** How to remove what a destroyed stack retained, so that the same prefix can be deployed again. */
export const retainedAdvice = (retained: readonly Retained[], prefix: string): string =>
  `${retained.map((r) => r.name).join(', ')} ${retained.length > 1 ? 'are' : 'is'} still there ` +
  `(a destroyed stack keeps its data); to deploy prefix ${prefix} again, delete ` +
  `${retained.length > 1 ? 'them' : 'it'} first: ${retained.map((r) => r.deleteCommand).join('; ')}`;
