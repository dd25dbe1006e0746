import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  BucketAlreadyOwnedByYou,
  type BucketLocationConstraint,
  CreateBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PRIORITIES } from '../core/constants.ts';
import { FanoutError } from '../core/errors.ts';
import { byLane, type Lanes } from '../core/lanes.ts';
import {
  type BucketDefinition,
  dataLifecycle,
  type IngestStepsDefinition,
  type QueueDefinition,
  type Resources,
  type TableDefinition,
} from './resources.ts';

/** An AWS answer provisioning cannot go on from, or an existing resource it will not change on its own. */
export class ProvisioningError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProvisioningError';
  }
}

export interface AwsClients {
  sqs: SQSClient;
  dynamo: DynamoDBClient;
  s3: S3Client;
}

/** Where the provisioned resources are, by AWS target where there is one per target. */
export interface ProvisionedAws {
  /** Each target's queues, one a lane. */
  queueUrls: Record<string, Lanes<string>>;
  /** The queue of ingest steps. */
  ingestSteps: { url: string; arn: string; deadLetterUrl: string };
  queueArns: Record<string, Lanes<string>>;
  deadLetterUrls: Record<string, string>;
  deadLetterArns: Record<string, string>;
  tableStreamArn: string;
  bucket: string;
}

/** The longest a table may take to become ACTIVE before provisioning gives up. */
const TABLE_WAIT_SECONDS = 120;

interface Queue {
  url: string;
  arn: string;
}

/**
 * Creates the queue, or, when it exists with other attributes (CreateQueue then refuses), sets them:
 * a second run converges on the definitions instead of failing.
 */
const ensureQueue = async (
  sqs: SQSClient,
  name: string,
  attributes: Partial<Record<QueueAttributeName, string>>,
): Promise<Queue> => {
  let url: string | undefined;
  try {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl;
  } catch (error) {
    if (!(error instanceof QueueNameExists)) throw error;
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  }
  if (url === undefined) throw new ProvisioningError(`SQS returned no URL for queue ${name}`);
  const read = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = read.Attributes?.QueueArn;
  if (arn === undefined) throw new ProvisioningError(`SQS returned no ARN for queue ${name}`);
  return { url, arn };
};

/** What a queue's own settings and its dead-letter queue's are read from, for a target or for ingest steps. */
type DeadLetteredQueue = Pick<
  QueueDefinition,
  | 'deadLetterName'
  | 'visibilityTimeoutSeconds'
  | 'maxReceiveCount'
  | 'messageRetentionSeconds'
  | 'deadLetterRetentionSeconds'
>;

/** The dead-letter queue, then the queue named `name` with a redrive policy to it. */
const ensureRedrivingQueue = (sqs: SQSClient, name: string, queue: DeadLetteredQueue, deadLetter: Queue) =>
  ensureQueue(sqs, name, {
    VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(queue.messageRetentionSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetter.arn,
      maxReceiveCount: queue.maxReceiveCount,
    }),
  });

const ensureDeadLetters = (sqs: SQSClient, queue: DeadLetteredQueue) =>
  ensureQueue(sqs, queue.deadLetterName, {
    MessageRetentionPeriod: String(queue.deadLetterRetentionSeconds),
  });

const ensureIngestSteps = async (sqs: SQSClient, steps: IngestStepsDefinition) => {
  const deadLetter = await ensureDeadLetters(sqs, steps);
  const main = await ensureRedrivingQueue(sqs, steps.queueName, steps, deadLetter);
  return { url: main.url, arn: main.arn, deadLetterUrl: deadLetter.url };
};

/** A target's dead-letter queue, then its lanes' queues, each redriving to it. */
const ensureTargetQueues = async (sqs: SQSClient, queue: QueueDefinition) => {
  const deadLetter = await ensureDeadLetters(sqs, queue);
  const made = await Promise.all(
    PRIORITIES.map((lane) => ensureRedrivingQueue(sqs, queue.lanes[lane].name, queue, deadLetter)),
  );
  const lanes = byLane((lane) => made[PRIORITIES.indexOf(lane)] as Queue);
  return { target: queue.target, lanes, deadLetter };
};

/** The task table as CreateTable takes it; without its stream only for tests of a table made without one. */
export const taskTableInput = (table: TableDefinition, { stream = true } = {}): CreateTableCommandInput => ({
  TableName: table.name,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: table.partitionKey, AttributeType: 'S' },
    { AttributeName: table.sortKey, AttributeType: 'S' },
    { AttributeName: table.jobsIndex.partitionKey, AttributeType: 'S' },
    { AttributeName: table.jobsIndex.sortKey, AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: table.partitionKey, KeyType: 'HASH' },
    { AttributeName: table.sortKey, KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: table.jobsIndex.name,
      KeySchema: [
        { AttributeName: table.jobsIndex.partitionKey, KeyType: 'HASH' },
        { AttributeName: table.jobsIndex.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
  ...(stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: table.streamView } }),
});

const createTable = async (dynamo: DynamoDBClient, table: TableDefinition): Promise<void> => {
  try {
    await dynamo.send(new CreateTableCommand(taskTableInput(table)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
};

const describeTable = async (dynamo: DynamoDBClient, name: string): Promise<TableDescription> => {
  await waitUntilTableExists({ client: dynamo, maxWaitTime: TABLE_WAIT_SECONDS }, { TableName: name });
  const table = (await dynamo.send(new DescribeTableCommand({ TableName: name }))).Table;
  if (table === undefined) throw new ProvisioningError(`DynamoDB did not describe table ${name}`);
  return table;
};

/**
 * A table made earlier without a stream gets one. One with another view is refused, not switched:
 * switching means disabling the stream, and its unread records would be lost to the stats function.
 */
const ensureStream = async (dynamo: DynamoDBClient, table: TableDefinition): Promise<string> => {
  let description = await describeTable(dynamo, table.name);
  const stream = description.StreamSpecification;
  if (stream?.StreamEnabled && stream.StreamViewType !== table.streamView) {
    throw new ProvisioningError(
      `table ${table.name} has a ${stream.StreamViewType} stream; the stats function needs ${table.streamView}`,
    );
  }
  if (!stream?.StreamEnabled) {
    await dynamo.send(
      new UpdateTableCommand({
        TableName: table.name,
        StreamSpecification: { StreamEnabled: true, StreamViewType: table.streamView },
      }),
    );
    description = await describeTable(dynamo, table.name);
  }
  if (description.LatestStreamArn === undefined) {
    throw new ProvisioningError(`table ${table.name} has no stream after enabling one`);
  }
  return description.LatestStreamArn;
};

/** UpdateTimeToLive fails on a table whose TTL is already on, so it is read first. */
const ensureTimeToLive = async (dynamo: DynamoDBClient, table: TableDefinition): Promise<void> => {
  const current = (await dynamo.send(new DescribeTimeToLiveCommand({ TableName: table.name })))
    .TimeToLiveDescription;
  const on = current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING';
  if (on && current?.AttributeName === table.ttlAttribute) return;
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: table.name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: table.ttlAttribute },
    }),
  );
};

const ensureBucket = async (s3: S3Client, bucket: BucketDefinition): Promise<void> => {
  const region = await s3.config.region();
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket.name,
        // us-east-1 is the one region that refuses its own name as a location constraint.
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket.name,
      LifecycleConfiguration: {
        Rules: dataLifecycle(bucket).map(({ id, prefix, days }) => ({
          ID: id,
          Status: 'Enabled',
          Filter: { Prefix: prefix },
          Expiration: { Days: days },
        })),
      },
    }),
  );
};

const byTarget = <T>(entries: { target: string; value: T }[]): Record<string, T> =>
  Object.fromEntries(entries.map(({ target, value }) => [target, value]));

/**
 * Creates, or brings in line with the definitions, every AWS resource of a deployment: each target's
 * dead-letter queue and its lanes' queues (each with its redrive policy), the queue of ingest steps and its dead-letter
 * queue, the task table with its stream and TTL, and the
 * data bucket. Safe to run again. For the local emulators; the CDK stack builds the same definitions.
 */
export const provisionAws = async (resources: Resources, clients: AwsClients): Promise<ProvisionedAws> => {
  const pairs = await Promise.all(resources.queues.map((queue) => ensureTargetQueues(clients.sqs, queue)));
  const ingestSteps = await ensureIngestSteps(clients.sqs, resources.ingestSteps);
  await createTable(clients.dynamo, resources.table);
  const tableStreamArn = await ensureStream(clients.dynamo, resources.table);
  await ensureTimeToLive(clients.dynamo, resources.table);
  await ensureBucket(clients.s3, resources.bucket);
  return {
    queueUrls: byTarget(pairs.map(({ target, lanes }) => ({ target, value: byLane((l) => lanes[l].url) }))),
    ingestSteps,
    queueArns: byTarget(pairs.map(({ target, lanes }) => ({ target, value: byLane((l) => lanes[l].arn) }))),
    deadLetterUrls: byTarget(pairs.map(({ target, deadLetter }) => ({ target, value: deadLetter.url }))),
    deadLetterArns: byTarget(pairs.map(({ target, deadLetter }) => ({ target, value: deadLetter.arn }))),
    tableStreamArn,
    bucket: resources.bucket.name,
  };
};
