import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { GetBucketLifecycleConfigurationCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PRIORITIES } from '../../src/core/constants.ts';
import { provisionAws, taskTableInput } from '../../src/deploy/provision.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

let moto: Moto;
let clients: { sqs: SQSClient; dynamo: DynamoDBClient; s3: S3Client };

beforeAll(async () => {
  moto = await startMoto();
  const config = awsClientConfig(moto.endpoint);
  clients = { sqs: new SQSClient(config), dynamo: new DynamoDBClient(config), s3: new S3Client(config) };
});

afterEach(() => moto.reset());

afterAll(async () => {
  for (const client of Object.values(clients ?? {})) client.destroy();
  await moto?.stop();
});

const resources = defineResources({
  prefix: 'prov',
  awsTargets: ['aws', 'aws-b'],
  processorTimeoutSeconds: 20,
});

describe('provisionAws on moto', () => {
  it("creates each target's lane queues with their visibility timeout and a redrive policy to the target's dead-letter queue", async () => {
    // Prepare
    const expected = resources.queues.flatMap((queue) => PRIORITIES.map((lane) => ({ queue, lane })));

    // Act
    const provisioned = await provisionAws(resources, clients);

    // Assess
    expect(expected).toHaveLength(6);
    for (const { queue, lane } of expected) {
      const { Attributes: main } = await clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: provisioned.queueUrls[queue.target]?.[lane],
          AttributeNames: ['All'],
        }),
      );
      const { Attributes: dead } = await clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: provisioned.deadLetterUrls[queue.target],
          AttributeNames: ['All'],
        }),
      );
      expect(provisioned.queueUrls[queue.target]?.[lane]).toMatch(
        new RegExp(`/${resources.prefix}-${queue.target}-${lane}$`),
      );
      expect(main?.VisibilityTimeout).toBe('120');
      expect(main?.MessageRetentionPeriod).toBe(String(queue.messageRetentionSeconds));
      expect(JSON.parse(main?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: dead?.QueueArn,
        maxReceiveCount: 5,
      });
      expect(dead?.QueueArn).toMatch(new RegExp(`:${queue.deadLetterName}$`));
      expect(dead?.MessageRetentionPeriod).toBe(String(14 * 24 * 3600));
      expect(provisioned.queueArns[queue.target]?.[lane]).toBe(main?.QueueArn);
    }
  });

  it('creates the table on demand, with pk/sk, a NEW_AND_OLD_IMAGES stream and TTL on expiresAt', async () => {
    // Prepare
    const tableName = resources.table.name;

    // Act
    const provisioned = await provisionAws(resources, clients);

    // Assess
    const { Table: table } = await clients.dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    const { TimeToLiveDescription: ttl } = await clients.dynamo.send(
      new DescribeTimeToLiveCommand({ TableName: tableName }),
    );
    expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(provisioned.tableStreamArn).toBe(table?.LatestStreamArn);
    expect(ttl).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
  });

  it('creates the bucket with rules that expire job data after the TTL in days, uploads after a week', async () => {
    // Prepare
    const bucket = resources.bucket;

    // Act
    const provisioned = await provisionAws(resources, clients);

    // Assess
    const head = await clients.s3.send(new HeadBucketCommand({ Bucket: bucket.name }));
    const lifecycle = await clients.s3.send(
      new GetBucketLifecycleConfigurationCommand({ Bucket: bucket.name }),
    );
    expect(provisioned.bucket).toBe('prov-data');
    expect(head.$metadata.httpStatusCode).toBe(200);
    expect(lifecycle.Rules?.map((rule) => [rule.Filter?.Prefix, rule.Expiration?.Days])).toEqual([
      [bucket.inputsPrefix, bucket.jobDataExpireAfterDays],
      [bucket.resultsPrefix, bucket.jobDataExpireAfterDays],
      [bucket.uploadsPrefix, bucket.expireAfterDays],
    ]);
  });

  it('succeeds when run again and returns the same resources', async () => {
    // Prepare
    const first = await provisionAws(resources, clients);

    // Act
    const second = await provisionAws(resources, clients);

    // Assess
    expect(second).toEqual(first);
  });

  it('brings an existing queue with other attributes in line instead of failing', async () => {
    // Prepare
    await provisionAws(resources, clients);
    const longer = defineResources({
      prefix: 'prov',
      awsTargets: ['aws', 'aws-b'],
      processorTimeoutSeconds: 50,
    });

    // Act
    const provisioned = await provisionAws(longer, clients);

    // Assess
    const { Attributes: main } = await clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: provisioned.queueUrls.aws?.high,
        AttributeNames: ['VisibilityTimeout'],
      }),
    );
    expect(main?.VisibilityTimeout).toBe('300');
  });

  it('adds the stream to a table that was made without one', async () => {
    // Prepare
    await provisionAws(resources, clients);
    await clients.dynamo.send(new DeleteTableCommand({ TableName: resources.table.name }));
    await clients.dynamo.send(new CreateTableCommand(taskTableInput(resources.table, { stream: false })));

    // Act
    const provisioned = await provisionAws(resources, clients);

    // Assess
    const { Table: table } = await clients.dynamo.send(
      new DescribeTableCommand({ TableName: resources.table.name }),
    );
    expect(table?.StreamSpecification?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(provisioned.tableStreamArn).toBe(table?.LatestStreamArn);
  });
});
