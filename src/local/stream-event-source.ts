import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { BatchDiscardedError, BatchResponseError } from './errors.ts';
import { invokeLambda } from './lambda-context.ts';
import { eventRecordOf } from './stream-records.ts';

export type StreamBatchHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamEventSourceOptions {
  streams: DynamoDBStreamsClient;
  streamArn: string;
  handler: StreamBatchHandler;
  /** @default 'stats' */
  functionName?: string;
  /** The function's timeout: a batch still running then counts as failed. @default 60000 */
  timeoutMs?: number;
  /** @default 100 */
  batchSize?: number;
  /** How long to keep gathering records after the first one arrives. @default 0 */
  maxBatchingWindowMs?: number;
  /** Retries of a failing batch before its records are skipped; -1 retries for ever, Lambda's default. @default -1 */
  retryAttempts?: number;
  /** Pause between reads of an idle shard; Lambda reads each shard four times a second. @default 250 */
  pollIntervalMs?: number;
  /** A failed stream call, a failed invocation, an invalid batch response or skipped records. @default writes it to stderr */
  onError?: (error: unknown) => void;
}

/** How often the stream is described again to find shards that split off. */
const DISCOVERY_INTERVAL_MS = 1000;
/** The most records one GetRecords returns. */
const GET_RECORDS_LIMIT = 1000;

const sequenceOf = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? '';

/** Event ids kept per shard to drop records read twice: far more than one read can hand out again. */
const SEEN_IDS = 10_000;

const remember = (seen: Set<string>, id: string): void => {
  seen.add(id);
  if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value as string);
};

/** One shard as its reader sees it: where it reads next, the records read but not yet handled. */
interface ShardState {
  shardId: string;
  iterator: string | undefined;
  closed: boolean;
  pending: DynamoDBRecord[];
  /** The last record handled (or skipped), by the emulator's own number: a restart reads after it. */
  checkpoint: string | undefined;
  /** The number given to the last record read. */
  lastSequence: bigint | undefined;
  /** Event ids of the records read lately: moto hands some records out twice (see `#numbered`). */
  seen: Set<string>;
  /** Failed invocations in a row with the same first record. */
  failures: number;
}

/**
 * Index of the first record the handler reported failed, or -1 when none did: Lambda retries from the
 * first failure (itemIdentifier = SequenceNumber), in order. An identifier not in the batch fails it whole.
 */
const firstFailure = (batch: DynamoDBRecord[], response: DynamoDBBatchResponse | undefined): number => {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return -1;
  const indexes = failures.map((failure) =>
    batch.findIndex((record) => sequenceOf(record) === failure.itemIdentifier),
  );
  const unknown = indexes.indexOf(-1);
  if (unknown !== -1) {
    throw new BatchResponseError(
      `batchItemFailures names ${JSON.stringify(failures[unknown]?.itemIdentifier)}, which is not a SequenceNumber of the batch`,
    );
  }
  return Math.min(...indexes);
};

/**
 * The Lambda DynamoDB Streams event source mapping, run locally against a real Streams API: one reader
 * per shard (a child shard after its parent), from TRIM_HORIZON, batches of up to `batchSize` records in
 * order, `batchItemFailures` honoured (ReportBatchItemFailures), a thrown batch retried. Stopping keeps
 * each shard's checkpoint, so a restart goes on after the last record handled.
 */
export class StreamEventSource {
  readonly #options: Required<StreamEventSourceOptions>;
  readonly #shards = new Map<string, ShardState>();
  readonly #readers = new Map<string, Promise<void>>();
  readonly #emulatorSequences = new WeakMap<DynamoDBRecord, string>();
  readonly #finished = new Set<string>();
  #running: Promise<void> | undefined;
  #stop = new AbortController();
  #region: string | undefined;

  constructor(options: StreamEventSourceOptions) {
    this.#options = {
      functionName: 'stats',
      timeoutMs: 60_000,
      batchSize: 100,
      maxBatchingWindowMs: 0,
      retryAttempts: -1,
      pollIntervalMs: 250,
      onError: (error) =>
        process.stderr.write(`fanout: stream event source ${options.streamArn}: ${String(error)}\n`),
      ...options,
    };
  }

  /** Starts reading; a no-op while it reads already. */
  start(): void {
    if (this.#running !== undefined) return;
    this.#stop = new AbortController();
    this.#running = this.#discover();
  }

  /** Stops reading and waits for the batches in flight to be invoked and settled. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#running = undefined;
    await Promise.all(this.#readers.values());
    this.#readers.clear();
  }

  /** Sleeps, or returns early when stop() is called. */
  #pause(ms: number): Promise<void> {
    return sleep(Math.max(0, ms), undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  async #discover(): Promise<void> {
    this.#region ??= await this.#options.streams.config.region();
    while (!this.#stop.signal.aborted) {
      try {
        const shards = await this.#describeShards();
        const known = new Set(shards.map((shard) => shard.ShardId));
        for (const shard of shards) {
          const id = shard.ShardId as string;
          const parent = shard.ParentShardId;
          const parentPending = parent !== undefined && known.has(parent) && !this.#finished.has(parent);
          if (this.#readers.has(id) || this.#finished.has(id) || parentPending) continue;
          this.#readers.set(id, this.#read(id));
        }
      } catch (error) {
        this.#options.onError(error);
      }
      await this.#pause(DISCOVERY_INTERVAL_MS);
    }
  }

  async #describeShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.#options.streams.send(
        new DescribeStreamCommand({ StreamArn: this.#options.streamArn, ExclusiveStartShardId: start }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);
    return shards;
  }

  async #read(shardId: string): Promise<void> {
    const shard = this.#shards.get(shardId) ?? {
      shardId,
      iterator: undefined,
      closed: false,
      pending: [],
      checkpoint: undefined,
      lastSequence: undefined,
      seen: new Set(),
      failures: 0,
    };
    this.#shards.set(shardId, shard);
    while (!this.#stop.signal.aborted) {
      try {
        const batch = await this.#gather(shard);
        if (batch.length > 0) await this.#deliver(shard, batch);
        else if (shard.closed) {
          this.#finished.add(shardId);
          break;
        }
      } catch (error) {
        this.#options.onError(error);
        shard.iterator = undefined;
        await this.#pause(this.#options.pollIntervalMs);
      }
    }
    this.#readers.delete(shardId);
  }

  /** An iterator after the last record read (or handled, on a restart), else at the start of the shard. */
  async #iterator(shard: ShardState): Promise<string | undefined> {
    const after = shard.pending.at(-1);
    const sequence = after !== undefined ? this.#emulatorSequence(after) : shard.checkpoint;
    const { ShardIterator } = await this.#options.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.#options.streamArn,
        ShardId: shard.shardId,
        ...(sequence === undefined
          ? { ShardIteratorType: 'TRIM_HORIZON' }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: sequence }),
      }),
    );
    return ShardIterator;
  }

  /** Reads until a batch is full, the window after its first record closes, or the shard ends. */
  async #gather(shard: ShardState): Promise<DynamoDBRecord[]> {
    const { batchSize, maxBatchingWindowMs, pollIntervalMs } = this.#options;
    let windowEnd = shard.pending.length > 0 ? Date.now() + maxBatchingWindowMs : undefined;
    while (!shard.closed && shard.pending.length < batchSize && !this.#stop.signal.aborted) {
      if (windowEnd !== undefined && Date.now() >= windowEnd) break;
      shard.iterator ??= await this.#iterator(shard);
      const { Records = [], NextShardIterator } = await this.#options.streams.send(
        new GetRecordsCommand({
          ShardIterator: shard.iterator,
          Limit: Math.min(GET_RECORDS_LIMIT, batchSize - shard.pending.length),
        }),
      );
      shard.iterator = NextShardIterator;
      shard.closed = NextShardIterator === undefined;
      for (const record of Records) {
        if (record.eventID !== undefined && shard.seen.has(record.eventID)) continue;
        if (record.eventID !== undefined) remember(shard.seen, record.eventID);
        shard.pending.push(this.#numbered(shard, eventRecordOf(record, this.#options.streamArn)));
      }
      if (shard.pending.length > 0) windowEnd ??= Date.now() + maxBatchingWindowMs;
      if (Records.length === 0 && !shard.closed) {
        await this.#pause(
          windowEnd === undefined
            ? pollIntervalMs
            : Math.max(0, Math.min(pollIntervalMs, windowEnd - Date.now())),
        );
      }
    }
    return shard.pending.slice(0, batchSize);
  }

  /** Invokes the handler once; drops the records it handled; counts a failure against the retries. */
  async #deliver(shard: ShardState, batch: DynamoDBRecord[]): Promise<void> {
    const { handler, functionName, timeoutMs, retryAttempts, pollIntervalMs } = this.#options;
    let failedAt: number;
    let cause: unknown;
    try {
      const response = await invokeLambda(
        handler,
        { Records: batch },
        { functionName, timeoutMs, region: this.#region },
      );
      failedAt = firstFailure(batch, response);
    } catch (error) {
      failedAt = 0;
      cause = error;
      this.#options.onError(error);
    }
    if (failedAt === -1) {
      this.#handled(shard, batch.length);
      shard.failures = 0;
      return;
    }
    this.#handled(shard, failedAt);
    shard.failures = failedAt === 0 ? shard.failures + 1 : 1;
    if (retryAttempts >= 0 && shard.failures > retryAttempts) {
      const skipped = batch.slice(failedAt);
      this.#handled(shard, skipped.length);
      shard.failures = 0;
      this.#options.onError(
        new BatchDiscardedError(
          `skipped ${skipped.length} records (${sequenceOf(skipped[0] as DynamoDBRecord)} to ${sequenceOf(skipped.at(-1) as DynamoDBRecord)}) of shard ${shard.shardId} after ${retryAttempts} retries`,
          { cause },
        ),
      );
      return;
    }
    await this.#pause(pollIntervalMs);
  }

  #handled(shard: ShardState, count: number): void {
    const done = shard.pending.splice(0, count);
    const last = done.at(-1);
    if (last !== undefined) shard.checkpoint = this.#emulatorSequence(last);
  }

  /**
   * DynamoDB numbers a shard's records uniquely and in order, and a consumer may rely on it (the stats
   * function does, to apply each record once). moto numbers them without a lock: two writes at once may
   * share a number, and since its next iterator starts after the largest number read, the record after
   * such a pair is handed out twice (it never skips one). So records read again are dropped by event id,
   * and the rest keep their read order, which is the write order, with a number at least one above the
   * last; the emulator's own number is kept to position iterators with.
   */
  #numbered(shard: ShardState, record: DynamoDBRecord): DynamoDBRecord {
    const own = sequenceOf(record);
    const previous = shard.lastSequence;
    const sequence = previous !== undefined && BigInt(own) <= previous ? previous + 1n : BigInt(own);
    shard.lastSequence = sequence;
    const numbered = { ...record, dynamodb: { ...record.dynamodb, SequenceNumber: String(sequence) } };
    this.#emulatorSequences.set(numbered, own);
    return numbered;
  }

  #emulatorSequence(record: DynamoDBRecord): string {
    return this.#emulatorSequences.get(record) ?? sequenceOf(record);
  }
}
