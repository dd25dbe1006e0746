import type { DynamoDBBatchItemFailure, DynamoDBRecord } from 'aws-lambda';
import type { ApplyResult, DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { FanoutError } from '../core/errors.ts';
import type { StatsDelta } from '../core/stats/summary.ts';
import type { JobEnds } from './job-ends.ts';
import { jobFailedIn, streamDelta } from './stream-deltas.ts';

export interface AggregateResult extends ApplyResult {
  /** Records that counted nothing (other items, take-overs, removals). */
  ignored: number;
  /** The records to hand back to Lambda, which retries from the first of them. */
  batchItemFailures: DynamoDBBatchItemFailure[];
  /** Jobs whose end was announced by this call. */
  announced: string[];
}

/**
 * The stats function: it keeps the summaries from the table's stream. `GET /stats` reads them through
 * the ingest function, which knows the targets' breakers too.
 */
export class StatsFunction {
  readonly #store: Pick<DynamoStatsStore, 'apply'>;
  readonly #ends: JobEnds | undefined;

  /** With `ends`, each job seen ending (its last deltas applied, or failed as a whole) is announced. */
  constructor(store: Pick<DynamoStatsStore, 'apply'>, ends?: JobEnds) {
    this.#store = store;
    this.#ends = ends;
  }

  async aggregate(records: readonly DynamoDBRecord[]): Promise<AggregateResult> {
    const deltas = records.map(streamDelta).filter((delta): delta is StatsDelta => delta !== undefined);
    const result = await this.#store.apply(deltas);
    const ended = [...result.finished, ...records.map(jobFailedIn).filter((id) => id !== undefined)];
    const announced = this.#ends ? await this.#ends.announce(ended) : [];
    return {
      ...result,
      announced,
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
