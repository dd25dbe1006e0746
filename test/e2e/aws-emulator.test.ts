import { createHash, randomUUID } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DeleteQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { S3ResultStore } from '../../src/adapters/aws/s3-result-store.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { TaskState } from '../../src/core/constants.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { createLambdaContext } from '../../src/local/lambda-context.ts';
import { jobRequest } from '../support/cloud.ts';
import {
  chaosJob,
  drainSqs,
  expectEachChunkEndedOnce,
  mismatchedGzipOutputs,
  waitFor,
} from '../support/e2e.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

const SEED = 7;
const POISON = 0.01;
const CHUNKS = 500;
const CHUNK_SIZE = 1024;
const { pipeline: PIPELINE, isPoisoned, line, input } = chaosJob(SEED, POISON, CHUNK_SIZE);
const INPUT = input(CHUNKS);

const resources = defineResources({ prefix: `e2e-${randomUUID().slice(0, 8)}`, processorTimeoutSeconds: 30 });

let moto: Moto;
let mode: EmulatorMode;
let sqs: SQSClient;
let dynamo: DynamoDBClient;
let s3: S3Client;

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, {
    ...awsEmulatorEnvironment(moto.endpoint),
    // Backoff in SQS is whole seconds: keep the test's retries quick.
    FANOUT_RETRY_BASE_DELAY_MS: '200',
    FANOUT_RETRY_MAX_DELAY_MS: '1000',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  mode = await startEmulatorMode({ resources, port: 0, maxConcurrency: 2 });
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
  dynamo = new DynamoDBClient(awsClientConfig(moto.endpoint));
  s3 = new S3Client(awsClientConfig(moto.endpoint));
}, 60_000);

afterAll(async () => {
  await mode?.stop();
  for (const client of [sqs, dynamo, s3]) client?.destroy();
  await moto?.stop();
});

const post = (query: string, body: string | Buffer, contentType = 'text/plain') =>
  fetch(`${mode.url}/jobs?${query}`, { method: 'POST', headers: { 'content-type': contentType }, body });

const getJson = async <T>(path: string): Promise<T> =>
  (await (await fetch(`${mode.url}${path}`)).json()) as T;

const queueUrl = (): string => mode.provisioned.queueUrls.aws?.medium as string;

const messagesIn = async (url: string): Promise<number> => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  );
};

const itemCount = async (): Promise<number> =>
  (await dynamo.send(new ScanCommand({ TableName: resources.table.name, Select: 'COUNT' }))).Count ?? 0;

describe('the AWS path on moto', () => {
  describe('bad input to the ingest function', () => {
    it.each([
      ['an empty body', '', '', 'text/plain', 400, /empty/],
      ['an unknown step', 'pipeline=validate,shout', 'x\n', 'text/plain', 400, /shout/],
      ['a bad step parameter', 'pipeline=compress:gzip:level=99', 'x\n', 'text/plain', 400, /level/],
      ['a chunk size out of range', 'chunkSize=10', 'x\n', 'text/plain', 400, /chunk size|chunkSize/i],
      ['an unsupported content type', '', '<x/>', 'application/xml', 415, /application\/xml/],
      ['a number that is not one', 'maxAttempts=NaN', 'x\n', 'text/plain', 400, /maxAttempts/],
      ['a negative number', 'chunkSize=-5', 'x\n', 'text/plain', 400, /chunkSize/],
      [
        'a source that does not exist',
        '',
        '{"source":"s3://nowhere/none.txt"}',
        'application/json',
        400,
        /does not exist/,
      ],
      ['a source that is not an S3 URI', '', '{"source":"http://x/y"}', 'application/json', 400, /s3:\/\//],
      [
        'an unknown key beside the source',
        '',
        '{"source":"s3://b/k","extra":1}',
        'application/json',
        400,
        /extra/,
      ],
    ])(
      'answers %s with a problem that names it, and enqueues nothing',
      async (_, query, body, type, status, detail) => {
        // Prepare
        const itemsBefore = await itemCount();

        // Act
        const response = await post(query, body, type);
        const problem = (await response.json()) as { status: number; detail: string; type: string };

        // Assess
        expect(response.status).toBe(status);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(problem.status).toBe(status);
        expect(problem.detail).toMatch(detail);
        expect(await messagesIn(queueUrl())).toBe(0);
        expect(await itemCount()).toBe(itemsBefore);
      },
    );

    it('answers an unknown job with 404 problem+json', async () => {
      // Act
      const response = await fetch(`${mode.url}/jobs/${randomUUID()}`);

      // Assess
      expect(response.status).toBe(404);
      expect(((await response.json()) as { type: string }).type).toBe('urn:fanout:problem:unknown-job');
    });

    it('answers a body over the limit with 413, and enqueues nothing', async () => {
      // Prepare
      const body = Buffer.alloc(10 * 1024 * 1024 + 1, 'a');

      // Act
      const response = await post('', body);

      // Assess
      expect(response.status).toBe(413);
      expect(await messagesIn(queueUrl())).toBe(0);
    });
  });

  describe(`a ${CHUNKS}-chunk job with chaos:fail=0.2 and ${POISON * 100}% poison`, () => {
    let jobId: string;
    let tasks: TaskRecord[];

    beforeAll(async () => {
      const response = await post(`pipeline=${PIPELINE}&chunkSize=${CHUNK_SIZE}&maxAttempts=10`, INPUT);
      const accepted = (await response.json()) as { jobId: string; status: string };
      expect(response.status).toBe(202);
      expect(accepted.status).toBe('ingesting');
      jobId = accepted.jobId;
      const ended = await waitFor(async () => {
        const job = await getJson<{ status: string; chunksTotal: number }>(`/jobs/${jobId}`);
        return job.status.startsWith('completed') ? job : undefined;
      }, 150_000);
      expect(ended.chunksTotal).toBe(CHUNKS);
      tasks = (await getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`)).tasks;
    }, 180_000);

    it('ends every chunk exactly once: the poisoned ones failed with their reason, all others completed', () => {
      // Assess
      expectEachChunkEndedOnce(tasks, CHUNKS, isPoisoned);
    });

    it('records one ending per try: retries before, exactly one completion last, none after', () => {
      // Prepare
      const completed = tasks.filter((task) => task.state === TaskState.completed);

      // Assess
      for (const task of completed) {
        const outcomes = task.attempts.map((attempt) => attempt.outcome);
        expect(outcomes.at(-1)).toBe(TaskState.completed);
        expect(outcomes.slice(0, -1).every((outcome) => outcome === TaskState.retrying)).toBe(true);
        expect(task.attempts.map((attempt) => attempt.attempt)).toEqual(outcomes.map((_, i) => i + 1));
      }
      expect(completed.some((task) => task.attempts.length > 1)).toBe(true);
    });

    it("stores each completed chunk's output, checked against its own slice of the input", async () => {
      // Prepare
      const results = new S3ResultStore(s3, mode.provisioned.bucket, resources.bucket.resultsPrefix);

      // Act
      const mismatches = await mismatchedGzipOutputs(results, jobId, tasks, (i) => line(i).toUpperCase());

      // Assess
      expect(mismatches).toEqual([]);
    });

    it('leaves nothing in the queue and exactly the poisoned chunks in the dead-letter queue', async () => {
      // Prepare
      const dlq = mode.provisioned.deadLetterUrls.aws as string;

      // Act
      const dead = (await drainSqs(sqs, dlq)).map((m) => m.index);

      // Assess
      expect(dead.sort((a, b) => a - b)).toEqual(
        tasks.filter((t) => isPoisoned(t.index)).map((t) => t.index),
      );
      // A batch's deletes follow its last record; on a loaded machine they may land a moment later.
      await expect.poll(() => messagesIn(queueUrl()), { timeout: 30_000, interval: 500 }).toBe(0);
    });

    it('reports stats that equal the task records', async () => {
      // Prepare
      const attempts = tasks.reduce((sum, task) => sum + task.attempts.length, 0);

      // Act
      const job = await getJson<{
        chunksCompleted: number;
        chunksFailed: number;
        stats: { attempts: number; retries: number };
      }>(`/jobs/${jobId}`);

      // Assess
      expect(job.chunksCompleted + job.chunksFailed).toBe(CHUNKS);
      expect(job.chunksFailed).toBe(tasks.filter((t) => t.state === TaskState.failed).length);
      expect(job.stats.attempts).toBe(attempts);
      expect(job.stats.retries).toBe(attempts - CHUNKS);
    });
  });

  describe('a batch with one chunk that cannot be read', () => {
    it('reports only that chunk as a batch item failure and completes its neighbours once', async () => {
      // Prepare
      const { handler } = await import('../../functions/process-aws/handler.ts');
      const inputs = new S3ResultStore(s3, mode.provisioned.bucket, resources.bucket.inputsPrefix);
      const tasks = new DynamoTaskStore(DynamoDBDocumentClient.from(dynamo), resources.table.name);
      const jobId = randomUUID();
      await tasks.createJob({ jobId, createdAt: Date.now(), options: { ...jobRequest('validate') } });
      const chunks = [0, 1, 2].map((i) => Buffer.from(line(i)));
      const refs = await inputs.put(jobId, chunks);
      const inputOf = (index: number) => (index === 1 ? 'gone:0:1024' : (refs[index] as string));
      const sha256Of = (index: number) =>
        createHash('sha256')
          .update(chunks[index] as Buffer)
          .digest('hex');
      await tasks.putSegment({
        jobId,
        segment: 0,
        firstIndex: 10,
        sentAt: Date.now(),
        chunks: [0, 1, 2].map((i) => ({
          sha256: sha256Of(i),
          bytes: (chunks[i] as Buffer).byteLength,
          input: inputOf(i),
        })),
      });
      const record = (index: number): SQSRecord => {
        const message: ChunkMessage = {
          jobId,
          index: index + 10,
          attempt: 1,
          routedAt: Date.now(),
          sha256: sha256Of(index),
          bytes: (chunks[index] as Buffer).byteLength,
          input: inputOf(index),
        };
        return {
          messageId: `m-${index}`,
          receiptHandle: `r-${index}`,
          body: JSON.stringify(message),
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: String(Date.now()),
            SenderId: 'test',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: mode.provisioned.queueArns.aws?.medium as string,
          awsRegion: 'us-east-1',
        };
      };
      const event: SQSEvent = {
        Records: [record(0), record(1), record(2)],
      };

      // Act
      const result = (await handler(
        event,
        createLambdaContext({ functionName: 'process-aws', timeoutMs: 60_000 }),
      )) as SQSBatchResponse;
      const taskOf = (index: number) =>
        getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`).then((r) =>
          r.tasks.find((t) => t.index === index),
        );

      // Assess
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
      expect((await taskOf(10))?.state).toBe(TaskState.completed);
      expect((await taskOf(12))?.state).toBe(TaskState.completed);
      expect((await taskOf(10))?.attempts).toHaveLength(1);
      // A first delivery is recorded at its end: the unread chunk has no record until it comes back.
      expect(await taskOf(11)).toBeUndefined();
    });
  });

  describe('a 2 MB input at chunkSize=1024, sent with an Idempotency-Key', () => {
    const TWO_MB = Array.from({ length: 20_000 }, (_, i) =>
      `record ${String(i).padStart(5, '0')} `.padEnd(104, 'x'),
    )
      .join('\n')
      .concat('\n');
    const KEY = `"${randomUUID()}"`;
    const postWithKey = (body: string) =>
      fetch(`${mode.url}/jobs?chunkSize=1024&pipeline=validate`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'idempotency-key': KEY },
        body,
      });

    it('is answered 202 ingesting at once and enqueued in the background; a retry gets the job, another body 422', {
      timeout: 180_000,
    }, async () => {
      // Prepare
      const inputs = new S3ResultStore(s3, mode.provisioned.bucket, resources.bucket.inputsPrefix);
      const tasks = new DynamoTaskStore(DynamoDBDocumentClient.from(dynamo), resources.table.name);
      const started = performance.now();

      // Act
      const response = await postWithKey(TWO_MB);
      const answeredMs = performance.now() - started;
      const accepted = (await response.json()) as { jobId: string; status: string };
      console.info(`2 MB POST /jobs answered in ${answeredMs.toFixed(0)} ms`);
      const retry = await postWithKey(TWO_MB);
      const other = await postWithKey(TWO_MB.toUpperCase());
      // The ingest steps go on after the request: wait for a whole segment record (1000 chunks) to be sent.
      const progressed = await waitFor(async () => {
        const job = await getJson<{ status: string; ingest?: { chunksEnqueued: number } }>(
          `/jobs/${accepted.jobId}`,
        );
        return (job.ingest?.chunksEnqueued ?? 0) >= 1000 || job.status !== 'ingesting' ? job : undefined;
      }, 150_000);
      const segments = await tasks.listSegments(accepted.jobId);
      const refs = segments.flatMap((segment) => segment.chunks.map((chunk) => chunk.input));
      const pieces: Uint8Array[] = [];
      for await (const piece of inputs.read(accepted.jobId, refs)) pieces.push(piece);

      // Assess
      expect(Buffer.byteLength(TWO_MB)).toBeGreaterThan(2_000_000);
      expect(response.status).toBe(202);
      expect(accepted.status).toBe('ingesting');
      expect(answeredMs).toBeLessThan(3000);
      expect(retry.status).toBe(200);
      expect(((await retry.json()) as { jobId: string }).jobId).toBe(accepted.jobId);
      expect(other.status).toBe(422);
      expect(other.headers.get('content-type')).toBe('application/problem+json');
      expect(progressed.ingest?.chunksEnqueued ?? refs.length).toBeGreaterThanOrEqual(1000);
      // What was enqueued so far is the input's beginning, byte for byte.
      expect(refs.length).toBeGreaterThanOrEqual(1000);
      expect(TWO_MB.startsWith(Buffer.concat(pieces).toString())).toBe(true);
    });
  });
});

// Last in the file: these take the queue away, then moto itself.
describe('readiness, and ingest when no target can take a chunk', () => {
  it('is ready while the table, the bucket and the queue answer', async () => {
    // Act
    const response = await fetch(`${mode.url}/health/ready`);

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      stores: { tasks: { ok: true }, inputs: { ok: true }, results: { ok: true } },
      targets: { aws: { queue: { ok: true }, breaker: 'closed', accepting: true } },
    });
  });

  it('accepts a job once the queue is gone, which its ingest step then marks failed, and is not ready', async () => {
    // Prepare
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl() }));

    // Act
    const response = await post(`pipeline=validate&chunkSize=${CHUNK_SIZE}`, input(3));
    const { jobId } = (await response.json()) as { jobId: string };
    const job = await waitFor(async () => {
      const view = await getJson<{ status: string; error: string }>(`/jobs/${jobId}`);
      return view.status === 'failed' ? view : undefined;
    }, 30_000);
    const ready = await fetch(`${mode.url}/health/ready`);

    // Assess
    expect(response.status).toBe(202);
    expect(job.error).toMatch(/^its input stopped after 0 chunks were sent: target aws is unavailable/);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { detail: string }).detail).toMatch(/^not ready: target aws: queue: /);
  });

  it('is live but not ready once moto has stopped: the task table does not answer', async () => {
    // Prepare
    await moto.stop();

    // Act
    const [live, ready] = await Promise.all([
      fetch(`${mode.url}/health/live`),
      fetch(`${mode.url}/health/ready`),
    ]);

    // Assess
    expect(live.status).toBe(200);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await ready.json()) as { detail: string; stores: Record<string, { ok: boolean }> };
    expect(problem.stores.tasks?.ok).toBe(false);
    expect(problem.detail).toMatch(/store tasks: /);
  });
});
