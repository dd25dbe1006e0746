import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFunctionEnvironment } from '../../src/config/function-env.ts';
import type { JobView } from '../../src/core/job.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { matchOnStderr } from '../support/child-output.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const PREFIX = 'fanout-deploy-test';
const resources = defineResources({ prefix: PREFIX });
/** 40 lines of 1024 bytes: forty chunks at chunkSize 1024, a fifth of whose tries fail once or more. */
const INPUT = Array.from({ length: 40 }, (_, i) => `${`deployed line ${i}`.padEnd(1023, '.')}\n`).join('');
const PIPELINE = 'validate,chaos:fail=0.2:poison=0:seed=5,transform:uppercase';

let moto: Moto;
let env: NodeJS.ProcessEnv;
let sqs: SQSClient;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  moto = await startMoto();
  env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(FANOUT_|AWS_)/.test(name))),
    ...awsEmulatorEnvironment(moto.endpoint),
  };
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
  dynamo = new DynamoDBClient(awsClientConfig(moto.endpoint));
});

afterAll(async () => {
  sqs?.destroy();
  dynamo?.destroy();
  await moto?.stop();
});

const script = async (action: string): Promise<{ code: number; stderr: string }> => {
  try {
    const { stderr } = await promisify(execFile)(
      NODE,
      ['scripts/deploy-emulator.ts', action, '--prefix', PREFIX],
      {
        cwd: ROOT,
        env,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
};

const aws = async (...args: string[]): Promise<string> =>
  (
    await promisify(execFile)('aws', [...args, '--output', 'json'], {
      env: { ...env, AWS_DEFAULT_REGION: 'us-east-1' },
    })
  ).stdout;

describe('fanout serve --mode emulators --use-deployed', () => {
  it('exits 2 naming each resource that is not deployed, and creates none of them', async () => {
    // Act
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        NODE,
        [
          'bin/fanout.ts',
          'serve',
          '--mode',
          'emulators',
          '--use-deployed',
          '--prefix',
          PREFIX,
          '--port',
          '0',
        ],
        { cwd: ROOT, env },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(`not deployed: queue ${resources.queues[0]?.lanes.high.name}`);
    expect(stderr).toMatch(`table ${resources.table.name}`);
    expect(stderr).toMatch(`bucket ${resources.bucket.name}`);
    expect(stderr).toMatch('npm run deploy:emulator');
    await expect(
      sqs.send(new GetQueueUrlCommand({ QueueName: resources.queues[0]?.lanes.medium.name })),
    ).rejects.toBeInstanceOf(QueueDoesNotExist);
  });
});

describe('npm run deploy:emulator', () => {
  it('deploys the stack to moto, runs a job on it, destroys it, and names what blocks a redeploy', async () => {
    // Act: deploy
    const deployed = await script('deploy');

    // Assess: what the stack created
    expect(deployed.code, deployed.stderr).toBe(0);
    const lanes = resources.queues.flatMap((queue) =>
      Object.values(queue.lanes).map((lane) => ({ queue, lane })),
    );
    for (const { queue, lane } of lanes) {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: lane.name }));
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] }),
      );
      expect(Number(Attributes?.VisibilityTimeout)).toBe(queue.visibilityTimeoutSeconds);
      expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
        deadLetterTargetArn: expect.stringContaining(queue.deadLetterName),
        maxReceiveCount: queue.maxReceiveCount,
      });
    }
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: resources.table.name }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: resources.table.partitionKey, KeyType: 'HASH' },
      { AttributeName: resources.table.sortKey, KeyType: 'RANGE' },
    ]);
    expect(Table?.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: resources.table.streamView,
    });
    const functions = [
      { kind: 'ingest' as const, ...resources.functions.ingest },
      { kind: 'stats' as const, ...resources.functions.stats },
      { kind: 'reconcile' as const, ...resources.functions.reconcile },
      {
        kind: 'ingest-step' as const,
        name: resources.ingestSteps.functionName,
        memoryMb: resources.ingestSteps.memoryMb,
        timeoutSeconds: resources.ingestSteps.timeoutSeconds,
      },
      ...resources.queues.map((queue) => ({
        kind: 'processor' as const,
        name: queue.processorName,
        memoryMb: resources.processor.memoryMb,
        timeoutSeconds: resources.processor.timeoutSeconds,
      })),
    ];
    for (const fn of functions) {
      const config = JSON.parse(
        await aws('lambda', 'get-function-configuration', '--function-name', fn.name),
      );
      expect(config).toMatchObject({
        Runtime: 'nodejs24.x',
        MemorySize: fn.memoryMb,
        Timeout: fn.timeoutSeconds,
      });
      // Each function's environment is the one its handler parses whole at start.
      expect(parseFunctionEnvironment(fn.kind, config.Environment.Variables)).toMatchObject({
        TABLE_NAME: resources.table.name,
      });
    }
    // The emulator cannot run the functions: the stack leaves their event sources to emulator mode.
    expect(JSON.parse(await aws('lambda', 'list-event-source-mappings')).EventSourceMappings).toEqual([]);

    // Act: a chaos job on what was deployed
    const child = spawn(
      NODE,
      ['bin/fanout.ts', 'serve', '--mode', 'emulators', '--use-deployed', '--prefix', PREFIX, '--port', '0'],
      {
        cwd: ROOT,
        env,
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let result: string;
    let code: number | null;
    try {
      const url = await matchOnStderr(child, /the HTTP API listens on (http:\/\/\S+)/);
      // With 4 tries, 20% failures fail a chunk for good once in 625: 1 job in 16 of 40 chunks. Ten tries.
      const accepted = await fetch(`${url}/jobs?chunkSize=1024&maxAttempts=10&pipeline=${PIPELINE}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: INPUT,
      });
      expect(accepted.status).toBe(202);
      const { jobId } = (await accepted.json()) as { jobId: string };
      await expect
        .poll(async () => ((await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView).status, {
          timeout: 120_000,
          interval: 500,
        })
        .toBe('completed');
      result = await (await fetch(`${url}/jobs/${jobId}/result`)).text();
      child.kill('SIGTERM');
      code = await exited;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }

    // Assess: byte-exact, on the deployed queue, and serve stopped cleanly
    expect(result).toBe(INPUT.toUpperCase());
    expect(code).toBe(0);

    // Act: destroy, then deploy the same prefix again
    const destroyed = await script('destroy');
    const again = await script('deploy');

    // Assess
    expect(destroyed.code, destroyed.stderr).toBe(0);
    await expect(aws('cloudformation', 'describe-stacks', '--stack-name', PREFIX)).rejects.toThrow(
      /does not exist/,
    );
    await expect(
      sqs.send(new GetQueueUrlCommand({ QueueName: resources.queues[0]?.lanes.medium.name })),
    ).rejects.toBeInstanceOf(QueueDoesNotExist);
    expect(destroyed.stderr).toMatch(
      `table ${resources.table.name}, bucket ${resources.bucket.name}, bucket ${resources.bucket.accessLogsName} are still there`,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(`cannot deploy stack ${PREFIX}`);
    expect(again.stderr).toMatch(`aws dynamodb delete-table --table-name ${resources.table.name}`);
    expect(again.stderr).toMatch(`aws s3 rb s3://${resources.bucket.name} --force`);
  }, 900_000);
});
