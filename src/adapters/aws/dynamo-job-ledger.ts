import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { IngestCheckpoint, JobRecord, SegmentRecord } from '../../ports/task-store.ts';
import { type Item, JOB_SK, pk, toJob } from './dynamo-task-items.ts';

/** The partition that lists the jobs not retired yet, one item per job (`sk` = its id). */
const ACTIVE_PK = 'ACTIVE';
const SEGMENT_PREFIX = 'SEG#';
/** DynamoDB's limit of keys in one BatchGetItem. */
const BATCH_GET_KEYS = 100;

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

  async retireJob(jobId: string): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#table, Key: { pk: ACTIVE_PK, sk: jobId } }));
  }
}
