import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type {
  APIGatewayProxyEventV2,
  Context,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoStatsStore } from '../../src/adapters/aws/dynamo-stats-store.ts';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { StatsFunction } from '../../src/cloud/stats-function.ts';
import { streamDelta } from '../../src/cloud/stream-deltas.ts';
import type { ErrorRecord } from '../../src/core/errors.ts';
import { summarize } from '../../src/core/stats/report.ts';
import { mergeStats, StatsCollector } from '../../src/core/stats/stats.ts';
import type { ClaimRequest } from '../../src/core/task.ts';
import { taskTableInput } from '../../src/deploy/provision.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { LIST_COSTING } from '../support/costing.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

const TABLE = 'fanout-stats-test';
const TTL_SECONDS = 3600;
const LEASE_MS = 60_000;
const RETRYABLE: ErrorRecord = { name: 'TransientError', message: 'flaky', retryable: true };
const PERMANENT: ErrorRecord = { name: 'ChunkValidationError', message: 'bad chunk', retryable: false };

type Handler = (event: unknown, context: Context) => Promise<unknown>;

let moto: Moto;
let dynamo: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let documents: DynamoDBDocumentClient;
let handler: Handler;

const context = {
  functionName: 'stats',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:stats',
  memoryLimitInMB: '256',
  awsRequestId: 'test-request',
  logGroupName: '/aws/lambda/stats',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

beforeAll(async () => {
  moto = await startMoto();
  const config = awsClientConfig(moto.endpoint);
  dynamo = new DynamoDBClient(config);
  streams = new DynamoDBStreamsClient(config);
  documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  // The function reads its configuration and creates its clients when it is loaded, as on Lambda.
  Object.assign(process.env, {
    TABLE_NAME: TABLE,
    // Where a calculation's combined result goes; these jobs have none, so the bucket is never reached.
    BUCKET_NAME: 'fanout-stats-test-data',
    JOB_TTL_SECONDS: String(TTL_SECONDS),
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: config.region,
    AWS_ACCESS_KEY_ID: config.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: config.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler } = (await import('../../functions/stats/handler.ts')) as unknown as { handler: Handler });
});

afterAll(async () => {
  dynamo?.destroy();
  streams?.destroy();
  await moto?.stop();
});

let streamArn: string;
let tasks: DynamoTaskStore;
/** Per shard, the last record already read into an event. */
let cursors: Map<string, string>;

beforeEach(async () => {
  const { TableDescription } = await dynamo.send(
    new CreateTableCommand(taskTableInput({ ...defineResources().table, name: TABLE })),
  );
  streamArn = TableDescription?.LatestStreamArn as string;
  tasks = new DynamoTaskStore(documents, TABLE);
  cursors = new Map();
});

afterEach(() => moto.reset());

/** A record as Lambda hands it over: the stream's record plus its source, times in epoch seconds. */
const lambdaRecord = (record: StreamRecord): DynamoDBRecord => {
  const { ApproximateCreationDateTime, ...dynamodb } = record.dynamodb ?? {};
  return {
    ...(record as DynamoDBRecord),
    eventSourceARN: streamArn,
    dynamodb: {
      ...(dynamodb as DynamoDBRecord['dynamodb']),
      ...(ApproximateCreationDateTime && {
        ApproximateCreationDateTime: Math.floor(ApproximateCreationDateTime.getTime() / 1000),
      }),
    },
  };
};

/** Every record written since the last call, read from the table's real stream, as one Lambda event. */
const nextBatch = async (): Promise<DynamoDBStreamEvent> => {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: DynamoDBRecord[] = [];
  for (const { ShardId } of StreamDescription?.Shards ?? []) {
    const after = cursors.get(ShardId as string);
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    let iterator = ShardIterator;
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      if (!page.Records?.length) break;
      records.push(...page.Records.map(lambdaRecord));
      cursors.set(ShardId as string, page.Records.at(-1)?.dynamodb?.SequenceNumber as string);
      iterator = page.NextShardIterator;
    }
  }
  return { Records: records };
};

const aggregate = async (event: DynamoDBStreamEvent) =>
  (await handler(event, context)) as DynamoDBBatchResponse;

const http = async (method: string, path: string) =>
  await handler(
    {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: {
        accountId: '123456789012',
        apiId: 'api',
        domainName: 'api.example.com',
        domainPrefix: 'api',
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
        requestId: 'r1',
        routeKey: '$default',
        stage: '$default',
        time: '',
        timeEpoch: 0,
      },
    } satisfies APIGatewayProxyEventV2,
    context,
  );

const readJob = async (jobId: string) =>
  (await documents.send(new GetCommand({ TableName: TABLE, Key: { pk: `JOB#${jobId}`, sk: 'JOB' } }))).Item;

interface Running {
  bytes: number;
  attempt: number;
  target: string;
  claimId: string;
  startedAt: number;
}

/**
 * Drives tasks through the table with DynamoTaskStore as the processors do (the claim of try 1 creates
 * the item) and feeds the same transitions to the collectors the summaries must equal.
 */
class Tasks {
  readonly #jobId: string;
  readonly #collectors: StatsCollector[];
  readonly #running = new Map<number, Running>();

  constructor(jobId: string, ...collectors: StatsCollector[]) {
    this.#jobId = jobId;
    this.#collectors = collectors;
  }

  async createJob(now: number): Promise<void> {
    await tasks.createJob({ jobId: this.#jobId, createdAt: now, options: {} });
  }

  async claimFirst(index: number, target: string, bytes: number, now: number): Promise<void> {
    const claimId = `claim-${index}-1`;
    await this.#claim({ index, attempt: 1, bytes, target, claimId, now });
    this.#running.set(index, { bytes, attempt: 1, target, claimId, startedAt: now });
    for (const c of this.#collectors) {
      c.taskCreated(bytes);
      c.attemptStarted(target, 1, undefined, now);
    }
  }

  async claimRetry(index: number, target: string, now: number): Promise<void> {
    const previous = this.#task(index);
    const attempt = previous.attempt + 1;
    const claimId = `claim-${index}-${attempt}`;
    await this.#claim({ index, attempt, bytes: previous.bytes, target, claimId, now });
    this.#running.set(index, { ...previous, attempt, target, claimId, startedAt: now });
    for (const c of this.#collectors) c.attemptStarted(target, attempt, previous.target, now);
  }

  /** Another worker takes the same try over after its lease ran out: nothing new to count. */
  async takeOver(index: number): Promise<void> {
    const running = this.#task(index);
    const now = running.startedAt + LEASE_MS + 1;
    const claimId = `${running.claimId}-again`;
    await this.#claim({
      index,
      attempt: running.attempt,
      bytes: running.bytes,
      target: running.target,
      claimId,
      now,
    });
    this.#running.set(index, { ...running, claimId, startedAt: now });
  }

  async finish(
    index: number,
    outcome: 'completed' | 'retrying' | 'failed',
    endedAt: number,
    error?: ErrorRecord,
  ): Promise<void> {
    const running = this.#task(index);
    const bytesOut = outcome === 'completed' ? Math.floor(running.bytes / 2) : undefined;
    const finished = await tasks.finish({
      jobId: this.#jobId,
      index,
      attempt: running.attempt,
      claimId: running.claimId,
      outcome,
      now: endedAt,
      ...(error && { error }),
      ...(bytesOut !== undefined && { bytesOut }),
    });
    expect(finished).toBe(true);
    for (const c of this.#collectors) {
      c.attemptEnded({
        target: running.target,
        attempt: running.attempt,
        outcome,
        startedAt: running.startedAt,
        endedAt,
        durationMs: endedAt - running.startedAt,
        bytesIn: running.bytes,
        ...(bytesOut !== undefined && { bytesOut }),
        ...(error && { retryable: error.retryable }),
      });
    }
  }

  async #claim(request: Pick<ClaimRequest, 'index' | 'attempt' | 'bytes' | 'target' | 'claimId' | 'now'>) {
    const result = await tasks.claim({
      ...request,
      jobId: this.#jobId,
      sha256: 'f'.repeat(64),
      workerId: `worker-${request.claimId}`,
      leaseMs: LEASE_MS,
    });
    expect(result.claimed).toBe(true);
  }

  #task(index: number): Running {
    const running = this.#running.get(index);
    if (running === undefined) throw new Error(`task ${index} was never claimed`);
    return running;
  }
}

/**
 * One job of four chunks through every kind of transition: a plain completion, a retry redistributed to
 * gcp, a take-over then a permanent failure, a retry on the same target that fails again.
 */
const runMixedJob = async (job: Tasks, at: number, afterEachStep: () => Promise<unknown>): Promise<void> => {
  await job.createJob(at);
  await job.claimFirst(0, 'aws', 4000, at + 1);
  await job.claimFirst(1, 'aws', 3000, at + 2);
  await job.claimFirst(2, 'gcp', 2000, at + 3);
  await job.claimFirst(3, 'aws', 1000, at + 4);
  await afterEachStep();
  await job.finish(0, 'completed', at + 41);
  await job.finish(1, 'retrying', at + 72, RETRYABLE);
  await job.takeOver(2);
  await job.finish(3, 'retrying', at + 9, RETRYABLE);
  await afterEachStep();
  await job.claimRetry(1, 'gcp', at + 150);
  await job.claimRetry(3, 'aws', at + 160);
  await job.finish(2, 'failed', at + LEASE_MS + 50, PERMANENT);
  await afterEachStep();
  await job.finish(1, 'completed', at + 190);
  await job.finish(3, 'failed', at + 230, RETRYABLE);
  await afterEachStep();
};

const store = () => new DynamoStatsStore(documents, TABLE);

describe('the stats function on a DynamoDB stream', () => {
  it('keeps a job summary equal to a collector fed the same transitions, batch after batch', async () => {
    // Prepare
    const expected = new StatsCollector();
    const job = new Tasks('mixed', expected);
    const responses: DynamoDBBatchResponse[] = [];

    // Act
    await runMixedJob(job, 1_000_000, async () => responses.push(await aggregate(await nextBatch())));

    // Assess
    const summary = await store().jobStats('mixed');
    const want = expected.snapshot();
    expect(responses).toEqual(Array(4).fill({ batchItemFailures: [] }));
    expect(summary?.data).toEqual(want);
    expect(want).toMatchObject({ tasks: 4, attempts: 6, retries: 2, redistributed: 1 });
    expect(want.states).toEqual({
      pending: 0,
      processing: 0,
      retrying: 0,
      completed: 2,
      failed: 2,
      cancelled: 0,
    });
    expect(want.targets.gcp).toMatchObject({ completed: 1, redistributedIn: 1, permanentFailures: 1 });
    expect(want.targets.aws).toMatchObject({ completed: 1, retryableFailures: 3 });
    expect(await store().overall()).toEqual(want);
  });

  it('applies a batch delivered again, whole or in part, exactly once', async () => {
    // Prepare
    const expected = new StatsCollector();
    await runMixedJob(new Tasks('again', expected), 2_000_000, async () => undefined);
    const batch = await nextBatch();
    const firstHalf = { Records: batch.Records.slice(0, Math.floor(batch.Records.length / 2)) };

    // Act
    await aggregate(firstHalf);
    await aggregate(batch);
    const once = await store().jobStats('again');
    const redelivered = await aggregate(batch);
    const twice = await store().jobStats('again');

    // Assess
    expect(once?.data).toEqual(expected.snapshot());
    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(twice).toEqual(once);
    expect(await store().overall()).toEqual(expected.snapshot());
  });

  it('marks a job finished exactly when its last chunk ends, with an expiry on the job and its summary', async () => {
    // Prepare
    const job = new Tasks('finishing');
    await job.createJob(3_000_000);
    await tasks.setJobTotal('finishing', 2);
    await job.claimFirst(0, 'aws', 100, 3_000_001);
    await job.claimFirst(1, 'gcp', 100, 3_000_002);
    await job.finish(0, 'completed', 3_000_010);
    await aggregate(await nextBatch());
    const beforeLast = await store().jobStats('finishing');
    await job.finish(1, 'failed', 3_000_020, PERMANENT);

    // Act
    const startedAt = Date.now();
    await aggregate(await nextBatch());
    const endedAt = Date.now();

    // Assess
    const finished = await store().jobStats('finishing');
    const summaryItem = await documents.send(
      new GetCommand({ TableName: TABLE, Key: { pk: 'JOB#finishing', sk: 'SUMMARY' } }),
    );
    const expiresAt = summaryItem.Item?.expiresAt as number;
    expect(beforeLast?.status).toBeUndefined();
    expect(finished).toMatchObject({ status: 'completed_with_failures', chunksTotal: 2 });
    expect(finished?.finishedAt).toBeGreaterThanOrEqual(startedAt);
    expect(finished?.finishedAt).toBeLessThanOrEqual(endedAt);
    expect(expiresAt).toBe(Math.floor((finished?.finishedAt as number) / 1000) + TTL_SECONDS);
    expect((await readJob('finishing'))?.expiresAt).toBe(expiresAt);
  });

  it('finishes a job whose total arrives after its last chunk ended', async () => {
    // Prepare
    const job = new Tasks('late-total');
    await job.createJob(4_000_000);
    await job.claimFirst(0, 'aws', 100, 4_000_001);
    await job.finish(0, 'completed', 4_000_005);
    await aggregate(await nextBatch());
    const allEnded = await store().jobStats('late-total');
    await tasks.setJobTotal('late-total', 1);

    // Act
    await aggregate(await nextBatch());

    // Assess
    expect(allEnded?.status).toBeUndefined();
    expect(await store().jobStats('late-total')).toMatchObject({ status: 'completed', chunksTotal: 1 });
    expect((await readJob('late-total'))?.expiresAt).toEqual(expect.any(Number));
  });
});

describe('the overall stats', () => {
  it('keeps the stats of every job together, for GET /stats to read', async () => {
    // Prepare
    const first = new StatsCollector();
    const second = new StatsCollector();
    await runMixedJob(new Tasks('one', first), 5_000_000, async () => undefined);
    await runMixedJob(new Tasks('two', second), 6_000_000, async () => undefined);

    // Act
    await aggregate(await nextBatch());

    // Assess
    expect(summarize(await store().overall(), LIST_COSTING)).toEqual(
      summarize(mergeStats(first.snapshot(), second.snapshot()), LIST_COSTING),
    );
  });

  it('rejects an HTTP request: the ingest function answers GET /stats', async () => {
    // Act
    const answered = http('GET', '/stats');

    // Assess
    await expect(answered).rejects.toThrow(/takes DynamoDB stream batches, got an event of version/);
  });
});

describe('DynamoStatsStore under concurrent writers', () => {
  /** A client that lets another writer apply `interfere` between this store's reads and its write. */
  const contended = (interfere: () => Promise<unknown>, times: number) => {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig(moto.endpoint)), {
      marshallOptions: { removeUndefinedValues: true },
    });
    let left = times;
    client.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === 'TransactWriteItemsCommand' && left > 0) {
          left--;
          await interfere();
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    return client;
  };

  it('retries a write that another writer got in before, losing neither update', async () => {
    // Prepare
    const mine = new StatsCollector();
    const theirs = new StatsCollector();
    await runMixedJob(new Tasks('mine', mine), 7_000_000, async () => undefined);
    const myBatch = await nextBatch();
    await runMixedJob(new Tasks('theirs', theirs), 8_000_000, async () => undefined);
    const theirBatch = await nextBatch();
    const client = contended(() => aggregate(theirBatch), 1);
    const retrying = new StatsFunction(new DynamoStatsStore(client, TABLE));

    // Act
    const result = await retrying.aggregate(myBatch.Records);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect((await store().jobStats('mine'))?.data).toEqual(mine.snapshot());
    expect(await store().overall()).toEqual(mergeStats(mine.snapshot(), theirs.snapshot()));
  });

  it('hands back the records of a job it could not write, and applies them on redelivery', async () => {
    // Prepare
    const mine = new StatsCollector();
    await runMixedJob(new Tasks('contended', mine), 9_000_000, async () => undefined);
    const batch = await nextBatch();
    let sequence = 0;
    const anotherJob = () =>
      store().apply([
        { jobId: 'other', shard: 'elsewhere', sequenceNumber: String(++sequence), chunksTotal: 5 },
      ]);
    const client = contended(anotherJob, 2);
    const givingUp = new StatsFunction(new DynamoStatsStore(client, TABLE, { maxWriteAttempts: 2 }));

    // Act
    const failed = await givingUp.aggregate(batch.Records);
    const retried = await aggregate(batch);

    // Assess
    const counted = batch.Records.filter((record) => streamDelta(record) !== undefined);
    expect(failed.failed[0]?.error).toMatchObject({ name: 'StatsContentionError' });
    expect(failed.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      counted.map((r) => r.dynamodb?.SequenceNumber),
    );
    expect(retried).toEqual({ batchItemFailures: [] });
    expect((await store().jobStats('contended'))?.data).toEqual(mine.snapshot());
  });
});
