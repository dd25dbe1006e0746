import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { IngestCheckpoint, JobListCursor, JobRecord, SegmentRecord } from '../../ports/task-store.ts';
import { type Item, JOB_SK, JOBS_INDEX, JOBS_LIST_PK, jobListKeys, pk, toJob } from './dynamo-task-items.ts';

/** The partition that lists the jobs not retired yet, one item per job (`sk` = its id). */
const ACTIVE_PK = 'ACTIVE';
const SEGMENT_PREFIX = 'SEG#';
/** DynamoDB's limit of keys in one BatchGetItem. */
const BATCH_GET_KEYS = 100;
/** DynamoDB's limit of requests in one BatchWriteItem. */
const BATCH_WRITE_ITEMS = 25;

const segmentSk = (firstIndex: number): string => `${SEGMENT_PREFIX}${String(firstIndex).padStart(10, '0')}`;

const toSegment = ({ pk: _pk, sk: _sk, expiresAt: _expires, ...segment }: Item): SegmentRecord =>
  segment as unknown as SegmentRecord;

/**
 * A job's progress beside its tasks in the task table: the ingest checkpoint (on the job's item), one
 * item per segment (`sk` = SEG#first index, zero-padded, so the segment of a chunk is one query), and the
 * active list that the reconciler walks. Part of `DynamoTaskStore`.
 */
export class DynamoJobLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #expiresAt: (now: number) => number;

  constructor(client: DynamoDBDocumentClient, table: string, expiresAt: (now: number) => number) {
    this.#client = client;
    this.#table = table;
    this.#expiresAt = expiresAt;
  }

  async activate(job: JobRecord): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: ACTIVE_PK,
          sk: job.jobId,
          createdAt: job.createdAt,
          expiresAt: this.#expiresAt(job.createdAt),
        },
      }),
    );
  }

  /** Sets the job's `notifiedAt` once: the conditional write that lets one end notice out. */
  async claimEndNotice(jobId: string, at: number): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pk(jobId), sk: JOB_SK },
          UpdateExpression: 'SET notifiedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(notifiedAt)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async checkpoint(jobId: string, previousSteps: number, next: IngestCheckpoint): Promise<boolean> {
    const fence =
      previousSteps === 0
        ? 'attribute_not_exists(ingest) OR ingest.steps = :previous'
        : 'ingest.steps = :previous';
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pk(jobId), sk: JOB_SK },
          UpdateExpression: 'SET ingest = :next',
          ConditionExpression: `attribute_exists(pk) AND (${fence})`,
          ExpressionAttributeValues: { ':next': next, ':previous': previousSteps },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async putSegment(segment: SegmentRecord): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: pk(segment.jobId),
          sk: segmentSk(segment.firstIndex),
          ...segment,
          expiresAt: this.#expiresAt(segment.sentAt),
        },
      }),
    );
  }

  async segmentOf(jobId: string, index: number): Promise<SegmentRecord | undefined> {
    const { Items = [] } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
        ExpressionAttributeValues: { ':pk': pk(jobId), ':first': SEGMENT_PREFIX, ':last': segmentSk(index) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const segment = Items[0] && toSegment(Items[0]);
    return segment && index < segment.firstIndex + segment.chunks.length ? segment : undefined;
  }

  async listSegments(jobId: string): Promise<SegmentRecord[]> {
    const segments: SegmentRecord[] = [];
    const pages = paginateQuery(
      { client: this.#client },
      {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :segment)',
        ExpressionAttributeValues: { ':pk': pk(jobId), ':segment': SEGMENT_PREFIX },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) segments.push(toSegment(item));
    return segments;
  }

  async listActiveJobs(): Promise<JobRecord[]> {
    const ids: string[] = [];
    const pages = paginateQuery(
      { client: this.#client },
      {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': ACTIVE_PK },
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) ids.push(item.sk as string);
    const jobs: JobRecord[] = [];
    for (let start = 0; start < ids.length; start += BATCH_GET_KEYS)
      jobs.push(...(await this.#jobs(ids.slice(start, start + BATCH_GET_KEYS))));
    return jobs.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The job items of `ids`, asking again for the keys a batch left unprocessed. */
  async #jobs(ids: readonly string[]): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    let keys: Item[] = ids.map((jobId) => ({ pk: pk(jobId), sk: JOB_SK }));
    while (keys.length > 0) {
      const { Responses, UnprocessedKeys } = await this.#client.send(
        new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of Responses?.[this.#table] ?? []) jobs.push(toJob(item));
      keys = (UnprocessedKeys?.[this.#table]?.Keys as Item[] | undefined) ?? [];
    }
    return jobs;
  }

  /** One query of the jobs index, newest first: never a scan. */
  async listJobs({ limit, after }: { limit: number; after?: JobListCursor }): Promise<JobRecord[]> {
    const { Items = [] } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: JOBS_INDEX.name,
        KeyConditionExpression: `${JOBS_INDEX.partitionKey} = :list`,
        ExpressionAttributeValues: { ':list': JOBS_LIST_PK },
        ScanIndexForward: false,
        Limit: limit,
        ...(after && {
          ExclusiveStartKey: { pk: pk(after.jobId), sk: JOB_SK, ...jobListKeys(after) },
        }),
      }),
    );
    return Items.map(toJob);
  }

  cancelJob(jobId: string, at: number): Promise<JobRecord | undefined> {
    return this.#updateJob(jobId, 'SET cancelledAt = if_not_exists(cancelledAt, :at)', at);
  }

  async rerunJob(jobId: string, at: number): Promise<void> {
    // A job that ended was set to expire its TTL after its end: running again, it is kept as it runs.
    const job = await this.#updateJob(jobId, 'SET rerunAt = :at, expiresAt = :expiresAt', at, {
      ':expiresAt': this.#expiresAt(at),
    });
    if (job !== undefined) await this.activate(job);
  }

  /** Sets a time on a job's item: the job as it is after, or undefined for an unknown job. */
  async #updateJob(
    jobId: string,
    expression: string,
    at: number,
    values: Item = {},
  ): Promise<JobRecord | undefined> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pk(jobId), sk: JOB_SK },
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at, ...values },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes && toJob(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async retireJob(jobId: string): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#table, Key: { pk: ACTIVE_PK, sk: jobId } }));
  }

  /**
   * Deletes every item of a job's partition (the job, its tasks, segments and summary) and its active
   * entry, 25 at a time, sending again what a batch left unprocessed. The deployed functions never call
   * it (TTL deletes expired items, and their role may not delete): it is the port's, for a store that
   * runs without TTL.
   */
  async deleteJob(jobId: string): Promise<void> {
    await this.retireJob(jobId);
    const pages = paginateQuery(
      { client: this.#client },
      {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk(jobId) },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
      },
    );
    const keys: Item[] = [];
    for await (const page of pages)
      for (const item of page.Items ?? []) keys.push({ pk: item.pk, sk: item.sk });
    for (let start = 0; start < keys.length; start += BATCH_WRITE_ITEMS) {
      let requests = keys.slice(start, start + BATCH_WRITE_ITEMS).map((Key) => ({ DeleteRequest: { Key } }));
      while (requests.length > 0) {
        const { UnprocessedItems } = await this.#client.send(
          new BatchWriteCommand({ RequestItems: { [this.#table]: requests } }),
        );
        requests = (UnprocessedItems?.[this.#table] as typeof requests | undefined) ?? [];
      }
    }
  }
}
