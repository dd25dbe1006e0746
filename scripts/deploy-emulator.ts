// npm run deploy:emulator / destroy:emulator: the CDK stack on the local AWS emulator at AWS_ENDPOINT_URL
// (moto, or LocalStack), without the event sources an emulator cannot run. docs/deploy.md.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  cdkRuns,
  EmulatorAction,
  emulatorDeployEnvironment,
  leftBehind,
  retainedAdvice,
} from '../src/deploy/deploy-emulator.ts';
import { DeployEmulatorError } from '../src/deploy/errors.ts';
import { defineResources } from '../src/deploy/resources.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CDK = join(root, 'node_modules', '.bin', 'cdk');

const cdk = (args: readonly string[], env: Record<string, string>): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(CDK, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });

const main = async (): Promise<number> => {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { prefix: { type: 'string', default: 'fanout' } },
    allowPositionals: true,
  });
  const action = positionals[0];
  if (action !== EmulatorAction.deploy && action !== EmulatorAction.destroy) {
    console.error(
      `usage: deploy-emulator.ts deploy|destroy [--prefix name], got ${positionals.join(' ') || 'nothing'}`,
    );
    return 2;
  }
  let env: Record<string, string>;
  try {
    env = emulatorDeployEnvironment(process.env);
  } catch (error) {
    if (!(error instanceof DeployEmulatorError)) throw error;
    console.error(error.message);
    return 2;
  }
  const prefix = values.prefix;
  const resources = defineResources({ prefix });
  const outputsFile = join(root, '.fanout', `emulator-stack-${prefix}.json`);
  if (action === EmulatorAction.deploy) {
    const blocking = await withClients(env, (clients) => leftBehind(resources, clients));
    if (blocking.length > 0) {
      console.error(`cannot deploy stack ${prefix}: ${retainedAdvice(blocking, prefix)}`);
      return 1;
    }
  }
  for (const args of cdkRuns(action, { prefix, outputsFile })) {
    const code = await cdk(args, env);
    if (code !== 0) return code;
  }
  if (action === EmulatorAction.deploy) {
    console.error(`deployed stack ${prefix}; its outputs are in ${outputsFile}`);
    return 0;
  }
  const kept = await withClients(env, (clients) => leftBehind(resources, clients));
  console.error(`destroyed stack ${prefix}${kept.length > 0 ? `; ${retainedAdvice(kept, prefix)}` : ''}`);
  return 0;
};

type Clients = { dynamo: DynamoDBClient; s3: S3Client; sqs: SQSClient };

const withClients = async <T>(
  env: Record<string, string>,
  use: (clients: Clients) => Promise<T>,
): Promise<T> => {
  const config = {
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
    },
  };
  const clients = {
    dynamo: new DynamoDBClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sqs: new SQSClient(config),
  };
  try {
    return await use(clients);
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
};

process.exitCode = await main();
