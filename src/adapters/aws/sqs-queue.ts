import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Codec, jsonCodec } from '../../ports/codec.ts';
import type { Delivery, OutgoingMessage, Queue, ReceiveOptions } from '../../ports/queue.ts';

/** SQS's own limits: 10 messages a batch call, delays up to 15 minutes, long polls up to 20 s. */
const SQS = { batch: 10, maxDelaySeconds: 900, maxWaitSeconds: 20 } as const;

const seconds = (ms: number, max: number): number => Math.min(max, Math.ceil(ms / 1000));

const inBatches = <T>(items: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / SQS.batch) }, (_, i) =>
    items.slice(i * SQS.batch, (i + 1) * SQS.batch),
  );

export class SqsBatchError extends Error {
  constructor(operation: string, failed: { Id?: string; Message?: string }[]) {
    super(
      `${operation}: ${failed.length} entries failed: ${failed.map((f) => `${f.Id} ${f.Message}`).join('; ')}`,
    );
    this.name = 'SqsBatchError';
  }
}

/**
 * A target queue on SQS. Sends and deletes go in batches of 10; a message's delay (a retry's backoff)
 * is SQS's per-message DelaySeconds, so durations are whole seconds, rounded up.
 */
export class SqsQueue<T> implements Queue<T> {
  readonly #client: SQSClient;
  readonly #url: string;
  readonly #codec: Codec<T>;

  constructor(client: SQSClient, queueUrl: string, codec: Codec<T> = jsonCodec<T>()) {
    this.#client = client;
    this.#url = queueUrl;
    this.#codec = codec;
  }

  async send(messages: readonly OutgoingMessage<T>[]): Promise<void> {
    for (const batch of inBatches(messages)) {
      const result = await this.#client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.#url,
          Entries: batch.map((message, i) => ({
            Id: String(i),
            MessageBody: this.#codec.encode(message.body),
            DelaySeconds: seconds(message.delayMs ?? 0, SQS.maxDelaySeconds),
          })),
        }),
      );
      if (result.Failed?.length) throw new SqsBatchError('SendMessageBatch', result.Failed);
    }
  }

  async receive({ max, waitMs, visibilityMs }: ReceiveOptions): Promise<Delivery<T>[]> {
    const result = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#url,
        MaxNumberOfMessages: Math.min(max, SQS.batch),
        WaitTimeSeconds: seconds(waitMs, SQS.maxWaitSeconds),
        VisibilityTimeout: seconds(visibilityMs, 43_200),
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    return (result.Messages ?? []).map((message) => ({
      receipt: message.ReceiptHandle as string,
      body: this.#codec.decode(message.Body ?? ''),
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    }));
  }

  async ack(receipts: readonly string[]): Promise<void> {
    for (const batch of inBatches(receipts)) {
      const result = await this.#client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#url,
          Entries: batch.map((receipt, i) => ({ Id: String(i), ReceiptHandle: receipt })),
        }),
      );
      if (result.Failed?.length) throw new SqsBatchError('DeleteMessageBatch', result.Failed);
    }
  }

  async release(receipt: string, delayMs: number): Promise<void> {
    await this.#client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#url,
        ReceiptHandle: receipt,
        VisibilityTimeout: seconds(delayMs, 43_200),
      }),
    );
  }

  /** GetQueueAttributes, which `grantSendMessages` allows: fails for a queue that is gone. */
  async probe(): Promise<void> {
    await this.#client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.#url, AttributeNames: ['QueueArn'] }),
    );
  }

  async depth(): Promise<number> {
    const result = await this.#client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.#url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const attributes = result.Attributes ?? {};
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }
}
