import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { provisionAws } from '../../src/deploy/provision.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import {
  type StreamBatchHandler,
  StreamEventSource,
  type StreamEventSourceOptions,
} from '../../src/local/stream-event-source.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

const resources = defineResources({ prefix: 'stream' });
const table = resources.table.name;

let moto: Moto;
let clients: { sqs: SQSClient; dynamo: DynamoDBClient; s3: S3Client };
let streams: DynamoDBStreamsClient;
let streamArn: string;
let source: StreamEventSource | undefined;

beforeAll(async () => {
  moto = await startMoto();
  const config = awsClientConfig(moto.endpoint);
  clients = { sqs: new SQSClient(config), dynamo: new DynamoDBClient(config), s3: new S3Client(config) };
  streams = new DynamoDBStreamsClient(config);
});

beforeEach(async () => {
  streamArn = (await provisionAws(resources, clients)).tableStreamArn;
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await moto.reset();
});

afterAll(async () => {
  for (const client of [...Object.values(clients ?? {}), streams]) client?.destroy();
  await moto?.stop();
});

const put = (sk: string, extra: Record<string, { S: string } | { N: string } | { B: Uint8Array }> = {}) =>
  clients.dynamo.send(
    new PutItemCommand({ TableName: table, Item: { pk: { S: 'JOB#1' }, sk: { S: sk }, ...extra } }),
  );

const waitFor = async (what: string, condition: () => boolean, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

/** A handler that records every event and answers with `answer` (by default: every record succeeded). */
const recording = (
  answer: (event: DynamoDBStreamEvent, call: number) => DynamoDBBatchResponse = () => ({
    batchItemFailures: [],
  }),
) => {
  const events: DynamoDBStreamEvent[] = [];
  const handler: StreamBatchHandler = async (event) => {
    events.push(event);
    return answer(event, events.length);
  };
  const records = (): DynamoDBRecord[] => events.flatMap((event) => event.Records);
  return { events, records, handler };
};

const run = (handler: StreamBatchHandler, options: Partial<StreamEventSourceOptions> = {}) => {
  source = new StreamEventSource({ streams, streamArn, handler, pollIntervalMs: 50, ...options });
  source.start();
  return source;
};

const sortKeys = (records: DynamoDBRecord[]) => records.map((record) => record.dynamodb?.Keys?.sk?.S);

describe('StreamEventSource on moto', () => {
  it('delivers a put, an update and a delete as INSERT, MODIFY and REMOVE with their images, in order', async () => {
    // Prepare
    await put('TASK#0', { status: { S: 'running' }, data: { B: new Uint8Array([1, 2, 3]) } });
    await clients.dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'JOB#1' }, sk: { S: 'TASK#0' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'completed' } },
      }),
    );
    await clients.dynamo.send(
      new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'JOB#1' }, sk: { S: 'TASK#0' } } }),
    );
    const { records, handler } = recording();

    // Act
    run(handler);
    await waitFor('three records', () => records().length >= 3);

    // Assess
    const [insert, modify, remove] = records();
    expect(records().map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(insert).toMatchObject({
      eventSource: 'aws:dynamodb',
      eventSourceARN: streamArn,
      eventVersion: '1.1',
      awsRegion: 'us-east-1',
      dynamodb: {
        Keys: { pk: { S: 'JOB#1' }, sk: { S: 'TASK#0' } },
        NewImage: { status: { S: 'running' }, data: { B: 'AQID' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(insert?.dynamodb?.OldImage).toBeUndefined();
    expect(modify?.dynamodb?.OldImage?.status).toEqual({ S: 'running' });
    expect(modify?.dynamodb?.NewImage?.status).toEqual({ S: 'completed' });
    expect(remove?.dynamodb?.OldImage?.status).toEqual({ S: 'completed' });
    expect(remove?.dynamodb?.NewImage).toBeUndefined();
    const sequences = records().map((record) => BigInt(record.dynamodb?.SequenceNumber ?? '0'));
    expect([...sequences].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequences);
    expect(insert?.dynamodb?.ApproximateCreationDateTime).toBeTypeOf('number');
    expect(insert?.dynamodb?.SizeBytes).toBeGreaterThan(0);
  });

  it('splits the records into batches of at most batchSize, in order', async () => {
    // Prepare
    for (const i of [0, 1, 2, 3, 4]) await put(`TASK#${i}`);
    const { events, records, handler } = recording();

    // Act
    run(handler, { batchSize: 2 });
    await waitFor('five records', () => records().length >= 5);

    // Assess
    expect(events.map((event) => event.Records.length)).toEqual([2, 2, 1]);
    expect(sortKeys(records())).toEqual(['TASK#0', 'TASK#1', 'TASK#2', 'TASK#3', 'TASK#4']);
  });

  it('gathers records written within the batching window into one batch', async () => {
    // Prepare
    const { events, records, handler } = recording();
    run(handler, { maxBatchingWindowMs: 1000 });

    // Act
    await put('TASK#0');
    await sleep(300);
    await put('TASK#1');
    await waitFor('two records', () => records().length >= 2);

    // Assess
    expect(events).toHaveLength(1);
    expect(sortKeys(records())).toEqual(['TASK#0', 'TASK#1']);
  });

  it('retries from the first record reported failed, and not the ones before it', async () => {
    // Prepare
    for (const i of [0, 1, 2]) await put(`TASK#${i}`);
    const { events, handler } = recording((event, call) => ({
      batchItemFailures:
        call === 1 ? [{ itemIdentifier: event.Records[1]?.dynamodb?.SequenceNumber as string }] : [],
    }));

    // Act
    run(handler, { batchSize: 3 });
    await waitFor('the retry', () => events.length >= 2);

    // Assess
    expect(sortKeys(events[0]?.Records ?? [])).toEqual(['TASK#0', 'TASK#1', 'TASK#2']);
    expect(sortKeys(events[1]?.Records ?? [])).toEqual(['TASK#1', 'TASK#2']);
  });

  it('retries a batch whose handler threw, with the same records', async () => {
    // Prepare
    for (const i of [0, 1]) await put(`TASK#${i}`);
    let calls = 0;
    const seen: (string | undefined)[][] = [];
    const handler: StreamBatchHandler = async (event) => {
      calls += 1;
      seen.push(sortKeys(event.Records));
      if (calls === 1) throw new Error('the function failed');
      return { batchItemFailures: [] };
    };
    const errors: unknown[] = [];

    // Act
    run(handler, { onError: (error) => errors.push(error) });
    await waitFor('the retry', () => seen.length >= 2);

    // Assess
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]).toEqual(['TASK#0', 'TASK#1']);
    expect((errors[0] as Error).message).toBe('the function failed');
  });

  it('skips a batch after retryAttempts retries and goes on with the next records', async () => {
    // Prepare
    await put('TASK#poison');
    const errors: unknown[] = [];
    const { records, handler } = recording((event) => {
      if (event.Records.some((record) => record.dynamodb?.Keys?.sk?.S === 'TASK#poison')) {
        return {
          batchItemFailures: [{ itemIdentifier: event.Records[0]?.dynamodb?.SequenceNumber as string }],
        };
      }
      return { batchItemFailures: [] };
    });
    run(handler, { batchSize: 1, retryAttempts: 2, onError: (error) => errors.push(error) });
    await waitFor('the poison record three times', () => records().length >= 3);

    // Act
    await put('TASK#fine');
    await waitFor('the next record', () => sortKeys(records()).includes('TASK#fine'));

    // Assess
    expect(sortKeys(records())).toEqual(['TASK#poison', 'TASK#poison', 'TASK#poison', 'TASK#fine']);
    expect((errors[0] as Error).name).toBe('BatchDiscardedError');
  });

  it('goes on after the last record handled when started again', async () => {
    // Prepare
    await put('TASK#0');
    const { records, handler } = recording();
    const started = run(handler);
    await waitFor('the first record', () => records().length >= 1);
    await started.stop();
    await put('TASK#1');

    // Act
    started.start();
    await waitFor('the second record', () => records().length >= 2);
    await sleep(300);

    // Assess
    expect(sortKeys(records())).toEqual(['TASK#0', 'TASK#1']);
  });
});
