import type { DynamoDBBatchItemFailure, DynamoDBRecord } from 'aws-lambda';
import type { ApplyResult, DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { FanoutError } from '../core/errors.ts';
import { summarize } from '../core/stats/report.ts';
import type { StatsDelta } from '../core/stats/summary.ts';
import { type ApiResponse, json, problem } from '../util/http.ts';
import { streamDelta } from './stream-deltas.ts';

const STATS_PATH = '/stats';
const ALLOWED = 'GET';

export interface AggregateResult extends ApplyResult {
  /** Records that counted nothing (other items, take-overs, removals). */
  ignored: number;
  /** The records to hand back to Lambda, which retries from the first of them. */
  batchItemFailures: DynamoDBBatchItemFailure[];
}

/** The stats function: it keeps the summaries from the table's stream and answers `GET /stats`. */
export class StatsFunction {
  readonly #store: Pick<DynamoStatsStore, 'apply' | 'overall'>;

  constructor(store: Pick<DynamoStatsStore, 'apply' | 'overall'>) {
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

  async request(method: string, path: string): Promise<ApiResponse> {
    if (path !== STATS_PATH) return problem(404, 'not-found', 'Not found', `no resource at ${path}`);
    if (method !== ALLOWED) {
      return problem(
        405,
        'method-not-allowed',
        'Method not allowed',
        `${method} is not allowed on ${path}; use ${ALLOWED}`,
        {},
        { allow: ALLOWED },
      );
    }
    return json(200, summarize(await this.#store.overall()));
  }
}

/** An event that is neither a DynamoDB stream batch nor an HTTP API request: a wiring fault of the stack. */
export class UnsupportedEventError extends FanoutError {
  constructor(keys: readonly string[]) {
    super(
      `the stats function takes DynamoDB stream batches and HTTP API requests, got an event of ${keys.join(', ')}`,
    );
    this.name = 'UnsupportedEventError';
  }
}
