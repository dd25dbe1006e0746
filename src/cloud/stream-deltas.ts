import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { FanoutError } from '../core/errors.ts';
import type { StatsDelta } from '../core/stats/summary.ts';
import { type TaskImage, taskTransitionStats } from '../core/stats/task-transition.ts';

const JOB_PREFIX = 'JOB#';
const TASK_PREFIX = 'TASK#';
const JOB_SK = 'JOB';

/** A stream record without what every record of a DynamoDB stream carries. */
export class StreamRecordError extends FanoutError {
  constructor(message: string) {
    super(message);
    this.name = 'StreamRecordError';
  }
}

type Image = Record<string, unknown>;

// The Lambda event types and the SDK name the same attribute-value shape differently.
const image = (value: unknown): Image | undefined =>
  value === undefined ? undefined : unmarshall(value as Record<string, AttributeValue>);

/**
 * An image that holds a task, or undefined for one that holds only the item's keys: moto streams an item
 * that an update creates as an INSERT of its keys, then a record of the whole item without an old image.
 */
const taskImage = (value: Image | undefined): TaskImage | undefined =>
  Array.isArray(value?.attempts) ? (value as unknown as TaskImage) : undefined;

/**
 * What a record of the table's stream adds to its job's stats: a task's change of state, or the job's
 * total arriving (which can finish a job whose last chunk ended first). Undefined for every other record.
 *
 * The shard is the stream itself: Lambda does not say which shard a record came from, and every item of
 * a job shares its partition key, so a job's records come through one shard at a time, in order. Only a
 * split of one job's items across partitions (DynamoDB's split for heat) would break that.
 */
export const streamDelta = (record: DynamoDBRecord): StatsDelta | undefined => {
  const stream = record.dynamodb;
  const sequenceNumber = stream?.SequenceNumber;
  if (stream?.Keys === undefined || sequenceNumber === undefined || record.eventSourceARN === undefined) {
    throw new StreamRecordError(`stream record ${record.eventID} has no keys, sequence number or source`);
  }
  const { pk, sk } = unmarshall(stream.Keys as Record<string, AttributeValue>);
  if (typeof pk !== 'string' || typeof sk !== 'string' || !pk.startsWith(JOB_PREFIX)) return undefined;
  const base = { jobId: pk.slice(JOB_PREFIX.length), shard: record.eventSourceARN, sequenceNumber };
  const before = image(stream.OldImage);
  const after = image(stream.NewImage);
  if (sk === JOB_SK) {
    const total = after?.chunksTotal;
    return typeof total === 'number' && before?.chunksTotal === undefined
      ? { ...base, chunksTotal: total }
      : undefined;
  }
  if (!sk.startsWith(TASK_PREFIX)) return undefined;
  const data = taskTransitionStats(taskImage(before), taskImage(after));
  return data && { ...base, data };
};

/** The job a record shows failing as a whole (its item's `failed` set), when it does: its end. */
export const jobFailedIn = (record: DynamoDBRecord): string | undefined => {
  const stream = record.dynamodb;
  if (stream?.Keys === undefined) return undefined;
  const { pk, sk } = unmarshall(stream.Keys as Record<string, AttributeValue>);
  if (typeof pk !== 'string' || sk !== JOB_SK || !pk.startsWith(JOB_PREFIX)) return undefined;
  const failedNow = image(stream.NewImage)?.failed !== undefined;
  return failedNow && image(stream.OldImage)?.failed === undefined ? pk.slice(JOB_PREFIX.length) : undefined;
};
