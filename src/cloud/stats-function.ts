import type { DynamoDBBatchItemFailure, DynamoDBRecord } from 'aws-lambda';
import type { ApplyResult, DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { FanoutError } from '../core/errors.ts';
import type { StatsDelta } from '../core/stats/summary.ts';
import { streamDelta } from './stream-deltas.ts';

export interface AggregateResult extends ApplyResult {
  /** Records that counted nothing (other items, take-overs, removals). */
  ignored: number;
  /** The records to hand back to Lambda, which retries from the first of them. */
  batchItemFailures: DynamoDBBatchItemFailure[];
}

/**
 * The stats function: it keeps the summaries from the table's stream. `GET /stats` reads them through
 * the ingest function, which knows the targets' breakers too.
 */
export class StatsFunction {
  readonly #store: Pick<DynamoStatsStore, 'apply'>;

  constructor(store: Pick<DynamoStatsStore, 'apply'>) {
    this.#store = store;
  }

  async aggregate(records: readonly DynamoDBRecord[]): Promise<AggregateResult> {
    const deltas = records.map(streamDelta).filter((delta): delta is StatsDelta => delta !== undefined);
    const result = await this.#store.apply(deltas);
    return {
      ...result,
      ignored: records.length - deltas.length,
      batchItemFailures: result.failed.flatMap(({ deltas: failed }) =>
        failed.map((delta) => ({ itemIdentifier: delta.sequenceNumber })),
      ),
    };
  }
}

/** An event that is not a DynamoDB stream batch: a wiring fault of the stack. */
export class UnsupportedEventError extends FanoutError {
  constructor(keys: readonly string[]) {
    super(`the stats function takes DynamoDB stream batches, got an event of ${keys.join(', ')}`);
    this.name = 'UnsupportedEventError';
  }
}
