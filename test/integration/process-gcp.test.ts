import { createHash, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { S3ResultStore } from '../../src/adapters/aws/s3-result-store.ts';
import { readOne } from '../../src/adapters/result-reading.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { functionEnvironment } from '../../src/config/function-env.ts';
import { TaskState } from '../../src/core/constants.ts';
import { type ProvisionedAws, provisionAws } from '../../src/deploy/provision.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { jobRequest } from '../support/cloud.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

// The gcp target's queue is an SQS queue here: a target is any queue, and this test needs no Pub/Sub.
const resources = defineResources({ prefix: `gcf-${randomUUID().slice(0, 8)}`, awsTargets: ['aws', 'gcp'] });

let moto: Moto;
let provisioned: ProvisionedAws;
let server: Server;
let url: string;
let tasks: DynamoTaskStore;
let inputs: S3ResultStore;
let results: S3ResultStore;
const clients: { destroy: () => void }[] = [];

beforeAll(async () => {
  moto = await startMoto();
  const config = awsClientConfig(moto.endpoint);
  const [sqs, dynamo, s3] = [new SQSClient(config), new DynamoDBClient(config), new S3Client(config)];
  clients.push(sqs, dynamo, s3);
  provisioned = await provisionAws(resources, { sqs, dynamo, s3 });
  Object.assign(process.env, {
    ...awsEmulatorEnvironment(moto.endpoint),
    ...functionEnvironment(
      {
        tableName: resources.table.name,
        bucketName: provisioned.bucket,
        queues: provisioned.queueUrls,
        jobTtlSeconds: resources.jobTtlSeconds,
      },
      {
        name: 'processor',
        target: 'gcp',
        deadLetter: provisioned.deadLetterUrls.gcp as string,
        leaseMs: resources.processor.leaseMs,
      },
    ),
    FANOUT_RETRY_MAX_DELAY_MS: '1000',
  });
  // functions-framework registers the function as its module loads, as the Cloud Functions runtime does.
  await import('../../functions/process-gcp/index.ts');
  server = getTestServer('processGcp');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/projects/p/topics/fanout-gcp`;
  const documents = DynamoDBDocumentClient.from(dynamo);
  tasks = new DynamoTaskStore(documents, resources.table.name);
  inputs = new S3ResultStore(s3, provisioned.bucket, resources.bucket.inputsPrefix);
  results = new S3ResultStore(s3, provisioned.bucket, resources.bucket.resultsPrefix);
}, 60_000);

afterAll(async () => {
  server?.close();
  for (const client of clients) client.destroy();
  await moto?.stop();
});

/** A job as ingest records it, with its one chunk stored and recorded; returns try 1 of the chunk. */
const stageChunk = async (pipeline: string, text: string): Promise<ChunkMessage> => {
  const jobId = randomUUID();
  await tasks.createJob({ jobId, createdAt: Date.now(), options: { ...jobRequest(pipeline) } });
  const data = Buffer.from(text);
  const [input] = await inputs.put(jobId, [data]);
  const chunk = {
    sha256: createHash('sha256').update(data).digest('hex'),
    bytes: data.byteLength,
    input: input as string,
  };
  await tasks.putSegment({ jobId, segment: 0, firstIndex: 0, sentAt: Date.now(), chunks: [chunk] });
  return { jobId, index: 0, attempt: 1, routedAt: Date.now(), ...chunk };
};

/** What the Pub/Sub emulator's push sends: the JSON wrapper, which functions-framework turns into a CloudEvent. */
const push = (data: string, attributes: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      message: { data: Buffer.from(data).toString('base64'), attributes, messageId: randomUUID() },
      subscription: 'projects/p/subscriptions/fanout-gcp',
    }),
  });

describe('functions/process-gcp under functions-framework', () => {
  it('runs a pushed chunk through the pipeline, records the try as gcp, and acknowledges with 2xx', async () => {
    // Prepare
    const message = await stageChunk('validate,transform:uppercase', 'hello\n');

    // Act
    const response = await push(JSON.stringify(message));

    // Assess
    expect(response.status).toBeLessThan(300);
    const task = await tasks.getTask(message.jobId, 0);
    expect(task?.state).toBe(TaskState.completed);
    expect(task?.attempts.map((a) => a.target)).toEqual(['gcp']);
    const output = await readOne(results, message.jobId, task?.result as string);
    expect(Buffer.from(output).toString()).toBe('HELLO\n');
  });

  it('acknowledges a second push of the same try as a duplicate and runs it once', async () => {
    // Prepare
    const message = await stageChunk('validate', 'once\n');
    await push(JSON.stringify(message));

    // Act
    const response = await push(JSON.stringify(message));

    // Assess
    expect(response.status).toBeLessThan(300);
    expect((await tasks.getTask(message.jobId, 0))?.attempts).toHaveLength(1);
  });

  it('answers 500 for a message that is not a chunk message, so Pub/Sub delivers it again', async () => {
    // Act
    const response = await push('{"jobId": 7}');

    // Assess
    expect(response.status).toBe(500);
  });

  it('answers 500 for a retry whose backoff runs past the longest one, and runs nothing', async () => {
    // Prepare
    const message = await stageChunk('validate', 'later\n');

    // Act
    const response = await push(JSON.stringify(message), { delayUntil: String(Date.now() + 60_000) });

    // Assess
    expect(response.status).toBe(500);
    expect(await tasks.getTask(message.jobId, 0)).toBeUndefined();
  });

  it('waits out a short backoff, then runs the try', async () => {
    // Prepare
    const message = await stageChunk('validate', 'soon\n');
    const until = Date.now() + 300;

    // Act
    const response = await push(JSON.stringify(message), { delayUntil: String(until) });

    // Assess
    expect(response.status).toBeLessThan(300);
    const task = await tasks.getTask(message.jobId, 0);
    expect(task?.state).toBe(TaskState.completed);
    expect(task?.attempts[0]?.startedAt).toBeGreaterThanOrEqual(until);
  });
});
