import { setTimeout } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_JOB_TTL_SECONDS } from '../../core/constants.ts';
import { FanoutError } from '../../core/errors.ts';
import { emptyStats, mergeStats, type StatsData } from '../../core/stats/stats.ts';
import {
  applyDeltas,
  emptySummary,
  type FinishedStatus,
  type JobSummary,
  type StatsDelta,
  type SummaryUpdate,
} from '../../core/stats/summary.ts';

const KEYS = {
  jobSk: 'JOB',
  summarySk: 'SUMMARY',
  overall: { pk: 'STATS', sk: 'ALL' },
} as const;

/** Cancellation reasons that mean another writer got there first: read again and retry. */
const CONTENTION = new Set(['ConditionalCheckFailed', 'TransactionConflict']);
const BACKOFF_BASE_MS = 10;

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommand['input']['TransactItems']>[number];

const jobPk = (jobId: string): string => `JOB#${jobId}`;

/** The table's bookkeeping attributes, which are not part of a summary. */
const toSummary = ({ pk: _pk, sk: _sk, version: _version, updatedAt: _at, ...summary }: Item): JobSummary =>
  summary as unknown as JobSummary;

export interface DynamoStatsStoreOptions {
  /**
   * How long a finished job and its summary are kept, in seconds (their `expiresAt`, for DynamoDB's TTL).
   * @default DEFAULT_JOB_TTL_SECONDS (3600, one hour)
   */
  jobTtlSeconds?: number;
  /**
   * Tries of one job's read-modify-write when other writers keep changing the same items.
   * @default 10
   */
  maxWriteAttempts?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface JobStats {
  data: StatsData;
  status?: FinishedStatus;
  finishedAt?: number;
  chunksTotal?: number;
}

export interface ApplyResult {
  applied: number;
  /** Deltas that had been applied before (a redelivered record). */
  skipped: number;
  /** Jobs this call finished. */
  finished: string[];
  /** Deltas that could not be applied, by job, with the reason. */
  failed: { deltas: StatsDelta[]; error: unknown }[];
}

/** Other writers kept changing a summary between its read and its write, on every try. */
export class StatsContentionError extends FanoutError {
  constructor(jobId: string, attempts: number) {
    super(`the stats of job ${jobId} kept changing under ${attempts} read-modify-write tries`);
    this.name = 'StatsContentionError';
  }
}

const isContention = (error: unknown): boolean =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((reason) => CONTENTION.has(reason.Code ?? ''));

const groupByJob = (deltas: readonly StatsDelta[]): Map<string, StatsDelta[]> => {
  const groups = new Map<string, StatsDelta[]>();
  for (const delta of deltas) groups.set(delta.jobId, [...(groups.get(delta.jobId) ?? []), delta]);
  return groups;
};

/**
 * Job summaries (`JOB#id` / `SUMMARY`) and the overall stats (`STATS` / `ALL`) in the task table, kept
 * exactly from the table's stream without reading a task. A job's deltas change its summary and the
 * overall stats in one transaction, each conditioned on the version that was read, so concurrent
 * writers never lose an update and the overall stats gain each delta exactly when its job does: the
 * sequence numbers kept in the job summary make a redelivered record change nothing.
 */
export class DynamoStatsStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #jobTtlSeconds: number;
  readonly #maxAttempts: number;
  readonly #now: () => number;

  constructor(client: DynamoDBDocumentClient, tableName: string, options: DynamoStatsStoreOptions = {}) {
    this.#client = client;
    this.#table = tableName;
    this.#jobTtlSeconds = options.jobTtlSeconds ?? DEFAULT_JOB_TTL_SECONDS;
    this.#maxAttempts = options.maxWriteAttempts ?? 10;
    this.#now = options.now ?? Date.now;
  }

  /** Applies deltas job by job; a job whose write fails leaves the others applied. */
  async apply(deltas: readonly StatsDelta[]): Promise<ApplyResult> {
    const result: ApplyResult = { applied: 0, skipped: 0, finished: [], failed: [] };
    // One job after another: every job's transaction also writes the overall item.
    for (const [jobId, group] of groupByJob(deltas)) {
      try {
        const update = await this.#applyJob(jobId, group);
        result.applied += update.applied;
        result.skipped += update.skipped;
        if (update.finished) result.finished.push(jobId);
      } catch (error) {
        result.failed.push({ deltas: group, error });
      }
    }
    return result;
  }

  async jobStats(jobId: string): Promise<JobStats | undefined> {
    const Item = await this.#get(jobPk(jobId), KEYS.summarySk);
    if (Item === undefined) return undefined;
    const { stats, status, finishedAt, chunksTotal } = toSummary(Item);
    return {
      data: stats,
      ...(status !== undefined && { status }),
      ...(finishedAt !== undefined && { finishedAt }),
      ...(chunksTotal !== undefined && { chunksTotal }),
    };
  }

  async overall(): Promise<StatsData> {
    const Item = await this.#get(KEYS.overall.pk, KEYS.overall.sk);
    return (Item?.stats as StatsData | undefined) ?? emptyStats();
  }

  async #applyJob(jobId: string, deltas: readonly StatsDelta[]): Promise<SummaryUpdate> {
    for (let attempt = 1; ; attempt++) {
      const [summary, overall] = await Promise.all([
        this.#get(jobPk(jobId), KEYS.summarySk),
        this.#get(KEYS.overall.pk, KEYS.overall.sk),
      ]);
      const now = this.#now();
      const current = summary ? toSummary(summary) : emptySummary(jobId);
      const update = applyDeltas(current, deltas, now, this.#jobTtlSeconds);
      if (update.applied === 0) return update;
      const overallStats = mergeStats(
        (overall?.stats as StatsData | undefined) ?? emptyStats(),
        update.added,
      );
      const writes = [
        this.#put({ pk: jobPk(jobId), sk: KEYS.summarySk, ...update.summary }, summary?.version, now),
        this.#put({ ...KEYS.overall, stats: overallStats }, overall?.version, now),
      ];
      if (update.finished) writes.push(this.#expireJob(jobId, update.summary.expiresAt));
      try {
        await this.#client.send(new TransactWriteCommand({ TransactItems: writes }));
        return update;
      } catch (error) {
        if (!isContention(error)) throw error;
        if (attempt >= this.#maxAttempts) throw new StatsContentionError(jobId, attempt);
        await setTimeout(Math.random() * BACKOFF_BASE_MS * 2 ** attempt);
      }
    }
  }

  async #get(pk: string, sk: string): Promise<Item | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return Item;
  }

  /** A put conditioned on the version that was read, so that a concurrent writer's update is never lost. */
  #put(item: Item, version: unknown, now: number): TransactItem {
    const condition =
      typeof version === 'number'
        ? {
            ConditionExpression: '#version = :version',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':version': version },
          }
        : { ConditionExpression: 'attribute_not_exists(pk)' };
    const next = typeof version === 'number' ? version + 1 : 1;
    return {
      Put: { TableName: this.#table, Item: { ...item, version: next, updatedAt: now }, ...condition },
    };
  }

  /** Lets DynamoDB's TTL remove a finished job along with its summary. */
  #expireJob(jobId: string, expiresAt: number | undefined): TransactItem {
    return {
      Update: {
        TableName: this.#table,
        Key: { pk: jobPk(jobId), sk: KEYS.jobSk },
        UpdateExpression: 'SET expiresAt = :expiresAt',
        ExpressionAttributeValues: { ':expiresAt': expiresAt },
      },
    };
  }
}
