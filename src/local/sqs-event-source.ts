import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import { BatchResponseError, MessageDeleteError } from './errors.ts';
import { invokeLambda } from './lambda-context.ts';

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsBatchHandler;
  /** @default 'process' */
  functionName?: string;
  /** The function's timeout: a batch still running then counts as failed. @default 60000 */
  timeoutMs?: number;
  /** Records per invocation; may exceed 10, the most one ReceiveMessage returns. @default 10 */
  batchSize?: number;
  /** How long to keep gathering records after the first one arrives. @default 0 */
  maxBatchingWindowMs?: number;
  /** Invocations running at once. @default 2 (the least a real mapping allows) */
  maxConcurrency?: number;
  /** Long poll of an idle queue. @default 20 */
  pollWaitSeconds?: number;
  /** A failed SQS call, a failed invocation or an invalid batch response. @default writes it to stderr */
  onError?: (error: unknown) => void;
}

/** Most messages one ReceiveMessage and one DeleteMessageBatch take. */
const SQS_BATCH_LIMIT = 10;
const GATHER_PAUSE_MS = 50;
const ERROR_PAUSE_MS = 1000;

const attributeOf = (value: MessageAttributeValue): SQSMessageAttribute => ({
  ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
  ...(value.BinaryValue !== undefined && { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
  stringListValues: value.StringListValues ?? [],
  binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
  dataType: value.DataType ?? 'String',
});

const recordOf = (message: Message, queueArn: string, awsRegion: string): SQSRecord => {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, attributeOf(value)]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes !== undefined && {
      md5OfMessageAttributes: message.MD5OfMessageAttributes,
    }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion,
  };
};

/** The records to delete: all but the failed ones. An unknown or empty identifier fails the whole batch. */
const succeeded = (records: SQSRecord[], response: SQSBatchResponse | undefined): SQSRecord[] => {
  const failures = response?.batchItemFailures ?? [];
  const ids = new Set(records.map((record) => record.messageId));
  const invalid = failures.find((failure) => !ids.has(failure.itemIdentifier));
  if (invalid !== undefined) {
    throw new BatchResponseError(
      `batchItemFailures names ${JSON.stringify(invalid.itemIdentifier)}, which is not a messageId of the batch`,
    );
  }
  const failed = new Set(failures.map((failure) => failure.itemIdentifier));
  return records.filter((record) => !failed.has(record.messageId));
};

/**
 * The Lambda SQS event source mapping, run locally against a real SQS API: it long-polls the queue,
 * gathers up to `batchSize` records within `maxBatchingWindowMs` of the first, invokes the handler with
 * an `SQSEvent`, and deletes every record the handler did not report in `batchItemFailures`
 * (ReportBatchItemFailures). Failed records, and every record of a batch whose handler threw or timed
 * out, stay on the queue and come back when their visibility timeout runs out.
 */
export class SqsEventSource {
  readonly #options: Required<SqsEventSourceOptions>;
  readonly #inFlight = new Set<Promise<void>>();
  #polling: Promise<void> | undefined;
  #stop = new AbortController();
  #region: string | undefined;

  constructor(options: SqsEventSourceOptions) {
    this.#options = {
      functionName: 'process',
      timeoutMs: 60_000,
      batchSize: SQS_BATCH_LIMIT,
      maxBatchingWindowMs: 0,
      maxConcurrency: 2,
      pollWaitSeconds: 20,
      onError: (error) =>
        process.stderr.write(`fanout: SQS event source ${options.queueUrl}: ${String(error)}\n`),
      ...options,
    };
  }

  /** Starts polling; a no-op while it polls already. */
  start(): void {
    if (this.#polling !== undefined) return;
    this.#stop = new AbortController();
    this.#polling = this.#poll();
  }

  /** Stops polling and waits for the batches in flight to be invoked and settled. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#polling;
    this.#polling = undefined;
    await Promise.all(this.#inFlight);
  }

  async #poll(): Promise<void> {
    this.#region ??= await this.#options.sqs.config.region();
    while (!this.#stop.signal.aborted) {
      while (this.#inFlight.size >= this.#options.maxConcurrency) await Promise.race(this.#inFlight);
      try {
        const records = await this.#gather();
        if (records.length > 0) this.#dispatch(records);
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        this.#options.onError(error);
        await sleep(ERROR_PAUSE_MS, undefined, { signal: this.#stop.signal }).catch(() => undefined);
      }
    }
  }

  async #receive(max: number, waitSeconds: number, signal?: AbortSignal): Promise<SQSRecord[]> {
    const { Messages = [] } = await this.#options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#options.queueUrl,
        MaxNumberOfMessages: Math.min(SQS_BATCH_LIMIT, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: signal },
    );
    return Messages.map((message) => recordOf(message, this.#options.queueArn, this.#region ?? ''));
  }

  /**
   * Waits (long polling) for a first record, then gathers more until the batch is full or the window
   * closes. Only the idle wait is cut short by stop(): records already received are still invoked.
   */
  async #gather(): Promise<SQSRecord[]> {
    const { batchSize, maxBatchingWindowMs, pollWaitSeconds } = this.#options;
    const records = await this.#receive(batchSize, pollWaitSeconds, this.#stop.signal);
    if (records.length === 0) return records;
    const windowEnd = Date.now() + maxBatchingWindowMs;
    while (records.length < batchSize && Date.now() < windowEnd) {
      let more: SQSRecord[];
      try {
        more = await this.#receive(batchSize - records.length, 0);
      } catch (error) {
        // The records in hand are invisible for their visibility timeout: invoke them rather than drop them.
        this.#options.onError(error);
        break;
      }
      records.push(...more);
      if (more.length === 0) await sleep(Math.max(0, Math.min(GATHER_PAUSE_MS, windowEnd - Date.now())));
    }
    return records;
  }

  #dispatch(records: SQSRecord[]): void {
    const batch = this.#invoke(records).catch(this.#options.onError);
    const tracked = batch.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  async #invoke(records: SQSRecord[]): Promise<void> {
    const { handler, functionName, timeoutMs } = this.#options;
    const response = await invokeLambda(
      handler,
      { Records: records },
      { functionName, timeoutMs, region: this.#region },
    );
    await this.#delete(succeeded(records, response));
  }

  async #delete(records: SQSRecord[]): Promise<void> {
    const reasons: string[] = [];
    for (let start = 0; start < records.length; start += SQS_BATCH_LIMIT) {
      const entries = records
        .slice(start, start + SQS_BATCH_LIMIT)
        .map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle }));
      const { Failed = [] } = await this.#options.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.#options.queueUrl, Entries: entries }),
      );
      reasons.push(...Failed.map((failure) => `${failure.Code}: ${failure.Message ?? ''}`));
    }
    if (reasons.length > 0) {
      throw new MessageDeleteError(`${reasons.length} messages were not deleted (${reasons.join('; ')})`);
    }
  }
}
