import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SqsBatchHandler, SqsEventSource } from '../../src/local/sqs-event-source.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

let moto: Moto;
let sqs: SQSClient;
let source: SqsEventSource | undefined;

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await moto.reset();
});

afterAll(async () => {
  sqs?.destroy();
  await moto?.stop();
});

interface Queue {
  url: string;
  arn: string;
}

const createQueue = async (attributes: Record<string, string> = {}): Promise<Queue> => {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `q-${crypto.randomUUID()}`, Attributes: attributes }),
  );
  const url = QueueUrl as string;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: Attributes?.QueueArn as string };
};

const send = async (queue: Queue, bodies: string[]): Promise<void> => {
  for (let start = 0; start < bodies.length; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.slice(start, start + 10).map((body, i) => ({
          Id: String(i),
          MessageBody: body,
          MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } },
        })),
      }),
    );
  }
};

const depth = async (queue: Queue): Promise<number> => {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
};

const waitFor = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

/** A handler that records every event and answers with `answer` (by default: every record succeeded). */
const recording = (
  answer: (event: SQSEvent) => SQSBatchResponse | Promise<SQSBatchResponse> = () => ({
    batchItemFailures: [],
  }),
) => {
  const events: SQSEvent[] = [];
  const handler: SqsBatchHandler = async (event) => {
    events.push(event);
    return answer(event);
  };
  const records = (): SQSRecord[] => events.flatMap((event) => event.Records);
  return { events, records, handler };
};

const run = (
  queue: Queue,
  handler: SqsBatchHandler,
  options: Partial<ConstructorParameters<typeof SqsEventSource>[0]> = {},
) => {
  source = new SqsEventSource({
    sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    handler,
    pollWaitSeconds: 1,
    ...options,
  });
  source.start();
  return source;
};

const failing =
  (body: string, onReceive: number) =>
  (event: SQSEvent): SQSBatchResponse => ({
    batchItemFailures: event.Records.filter(
      (record) => record.body === body && record.attributes.ApproximateReceiveCount === String(onReceive),
    ).map((record) => ({ itemIdentifier: record.messageId })),
  });

describe('SqsEventSource on moto', () => {
  it('gathers a batch larger than one receive within the batching window, as a realistic SQSEvent', async () => {
    // Prepare
    const queue = await createQueue();
    const bodies = Array.from({ length: 25 }, (_, i) => `message ${i}`);
    await send(queue, bodies);
    const { events, handler } = recording();
    const started = Date.now();

    // Act
    run(queue, handler, { batchSize: 100, maxBatchingWindowMs: 1000, maxConcurrency: 2 });
    await waitFor('the first batch', () => events.length > 0);
    const invokedAfterMs = Date.now() - started;

    // Assess
    const [first] = events;
    expect(first?.Records).toHaveLength(25);
    expect(invokedAfterMs).toBeGreaterThanOrEqual(900);
    expect(first?.Records.map((record) => record.body).sort()).toEqual([...bodies].sort());
    const record = first?.Records[0] as SQSRecord;
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
      md5OfBody: createHash('md5').update(record.body).digest('hex'),
      messageAttributes: {
        kind: { dataType: 'String', stringValue: 'test', stringListValues: [], binaryListValues: [] },
      },
    });
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(started - 60_000);
    expect(record.receiptHandle).not.toBe('');
    await waitFor('the queue to empty', async () => (await depth(queue)) === 0);
  });

  it('deletes the records that succeeded and lets a failed one come back after its visibility, with receive count 2', async () => {
    // Prepare
    const queue = await createQueue({ VisibilityTimeout: '1' });
    await send(queue, ['a', 'b', 'c']);
    const { records, handler } = recording(failing('b', 1));

    // Act
    run(queue, handler, { batchSize: 3, maxBatchingWindowMs: 500 });
    await waitFor('b to come back', () => records().filter((record) => record.body === 'b').length === 2);

    // Assess
    const seen = records();
    expect(seen.filter((record) => record.body === 'a')).toHaveLength(1);
    expect(seen.filter((record) => record.body === 'c')).toHaveLength(1);
    expect(
      seen.filter((record) => record.body === 'b').map((r) => r.attributes.ApproximateReceiveCount),
    ).toEqual(['1', '2']);
    await waitFor('the queue to empty', async () => (await depth(queue)) === 0);
  });

  it('deletes nothing when the handler throws, so the whole batch comes back', async () => {
    // Prepare
    const queue = await createQueue({ VisibilityTimeout: '1' });
    await send(queue, ['a', 'b', 'c']);
    let calls = 0;
    const { records, handler } = recording(() => {
      calls += 1;
      if (calls === 1) throw new Error('the function failed');
      return { batchItemFailures: [] };
    });

    // Act
    run(queue, handler, { batchSize: 3, maxBatchingWindowMs: 500, onError: () => {} });
    await waitFor('every message twice', () => records().length >= 6);

    // Assess
    const second = records().slice(3);
    expect(second.map((record) => record.body).sort()).toEqual(['a', 'b', 'c']);
    expect(second.every((record) => record.attributes.ApproximateReceiveCount === '2')).toBe(true);
    await waitFor('the queue to empty', async () => (await depth(queue)) === 0);
  });

  it('treats a response naming an unknown messageId as a failure of the whole batch', async () => {
    // Prepare
    const queue = await createQueue({ VisibilityTimeout: '1' });
    await send(queue, ['a', 'b']);
    const errors: unknown[] = [];
    let calls = 0;
    const { records, handler } = recording(() => {
      calls += 1;
      return { batchItemFailures: calls === 1 ? [{ itemIdentifier: 'no-such-id' }] : [] };
    });

    // Act
    run(queue, handler, { batchSize: 2, maxBatchingWindowMs: 500, onError: (error) => errors.push(error) });
    await waitFor('both messages twice', () => records().length >= 4);

    // Assess
    expect((errors[0] as Error).name).toBe('BatchResponseError');
    expect(
      records()
        .slice(2)
        .every((record) => record.attributes.ApproximateReceiveCount === '2'),
    ).toBe(true);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount failed deliveries', async () => {
    // Prepare
    const deadLetter = await createQueue();
    const queue = await createQueue({
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount: 2 }),
    });
    await send(queue, ['poison']);
    const { records, handler } = recording((event) => ({
      batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })),
    }));

    // Act
    run(queue, handler, { batchSize: 1 });
    await waitFor('the dead letter', async () => (await depth(deadLetter)) === 1);

    // Assess
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetter.url }));
    expect(Messages[0]?.Body).toBe('poison');
    expect(records().map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(await depth(queue)).toBe(0);
  });

  it('counts a batch that runs past the function timeout as failed', async () => {
    // Prepare
    const queue = await createQueue({ VisibilityTimeout: '1' });
    await send(queue, ['slow']);
    const errors: unknown[] = [];
    const { records, handler } = recording(async (event) => {
      if (event.Records[0]?.attributes.ApproximateReceiveCount === '1') await sleep(500);
      return { batchItemFailures: [] };
    });

    // Act
    run(queue, handler, { batchSize: 1, timeoutMs: 200, onError: (error) => errors.push(error) });
    await waitFor('the message twice', () => records().length === 2);

    // Assess
    expect((errors[0] as Error).name).toBe('LambdaTimeoutError');
    await waitFor('the queue to empty', async () => (await depth(queue)) === 0);
  });

  it('runs at most maxConcurrency batches at once, and stop() waits for them', async () => {
    // Prepare
    const queue = await createQueue();
    await send(queue, ['1', '2', '3', '4', '5', '6']);
    let running = 0;
    let most = 0;
    const { records, handler } = recording(async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(300);
      running -= 1;
      return { batchItemFailures: [] };
    });
    const started = run(queue, handler, { batchSize: 1, maxConcurrency: 2 });
    await waitFor('two batches in flight', () => running === 2);

    // Act
    await started.stop();

    // Assess
    expect(running).toBe(0);
    expect(most).toBe(2);
    expect(await depth(queue)).toBe(6 - records().length);
  });
});
