import type { DynamoDBBatchItemFailure, DynamoDBRecord } from 'aws-lambda';
import type { ApplyResult, DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { FanoutError } from '../core/errors.ts';
import { recordedRequest } from '../core/job.ts';
import { fanInOf } from '../core/pipeline/fan-in.ts';
import type { StatsDelta } from '../core/stats/summary.ts';
import { type ResultParts, storeCombined } from '../lifecycle/job-result.ts';
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
  readonly #combined: CombinedResults | undefined;

  /**
   * With `ends`, each job seen ending (its last deltas applied, or failed as a whole) is announced; with
   * `combined`, a calculation's result is written first, when its last chunk settles.
   */
  constructor(store: Pick<DynamoStatsStore, 'apply'>, ends?: JobEnds, combined?: CombinedResults) {
    this.#store = store;
    this.#ends = ends;
    this.#combined = combined;
  }

  async aggregate(records: readonly DynamoDBRecord[]): Promise<AggregateResult> {
    const deltas = records.map(streamDelta).filter((delta): delta is StatsDelta => delta !== undefined);
    const result = await this.#store.apply(deltas);
    if (this.#combined) await this.#combined.store(result.finished);
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

/** Where the stats function writes a calculation's combined result: the stores, and who hears a failure. */
export class CombinedResults {
  readonly #parts: ResultParts;
  readonly #onError: (error: unknown, jobId: string) => void;

  constructor(parts: ResultParts, onError: (error: unknown, jobId: string) => void) {
    this.#parts = parts;
    this.#onError = onError;
  }

  /** Writes the combined result of each job of `jobIds` that has a fan-in to reduce. */
  async store(jobIds: readonly string[]): Promise<void> {
    await Promise.all(
      [...new Set(jobIds)].map(async (jobId) => {
        try {
          const request = await this.#parts.tasks
            .getJob(jobId)
            .then((job) => job && recordedRequest(job.options));
          await storeCombined(this.#parts, jobId, request && fanInOf(request.pipeline));
        } catch (error) {
          // The stats are applied: failing the batch would not see this end again. A reader reduces it then.
          this.#onError(error, jobId);
        }
      }),
    );
  }
}

/** An event that is not a DynamoDB stream batch: a wiring fault of the stack. */
export class UnsupportedEventError extends FanoutError {
  constructor(keys: readonly string[]) {
    super(`the stats function takes DynamoDB stream batches, got an event of ${keys.join(', ')}`);
    this.name = 'UnsupportedEventError';
  }
}
