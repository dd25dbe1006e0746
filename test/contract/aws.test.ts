import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { DynamoHealthStore } from '../../src/adapters/aws/dynamo-health-store.ts';
import { DynamoIdempotencyStore } from '../../src/adapters/aws/dynamo-idempotency-store.ts';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { S3ResultStore } from '../../src/adapters/aws/s3-result-store.ts';
import { SqsQueue } from '../../src/adapters/aws/sqs-queue.ts';
import { taskTableInput } from '../../src/deploy/provision.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';
import { describeHealthStoreContract } from './health-store.contract.ts';
import { describeIdempotencyStoreContract } from './idempotency-store.contract.ts';
import { describeJobControlsContract } from './job-controls.contract.ts';
import { describeJobLedgerContract } from './job-ledger.contract.ts';
import { type ContractMessage, describeQueueContract } from './queue.contract.ts';
import { describeResultStoreContract } from './result-store.contract.ts';
import { describeTaskStoreContract } from './task-store.contract.ts';

let moto: Moto;
let sqs: SQSClient;
let s3: S3Client;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
  s3 = new S3Client(awsClientConfig(moto.endpoint));
  dynamo = new DynamoDBClient(awsClientConfig(moto.endpoint));
});

afterAll(async () => {
  sqs?.destroy();
  s3?.destroy();
  dynamo?.destroy();
  await moto?.stop();
});

describeQueueContract(
  'SqsQueue on moto',
  async () => {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: `contract-${crypto.randomUUID()}` }));
    return {
      queue: new SqsQueue<ContractMessage>(sqs, created.QueueUrl as string),
      cleanup: () => moto.reset(),
    };
  },
  {
    visibilityGranularityMs: 1000,
    missing: () =>
      new SqsQueue<ContractMessage>(sqs, `${moto.endpoint}/123456789012/contract-${crypto.randomUUID()}`),
  },
);

describeResultStoreContract(
  'S3ResultStore on moto',
  async () => {
    const bucket = `contract-${crypto.randomUUID()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return { store: new S3ResultStore(s3, bucket), cleanup: () => moto.reset() };
  },
  () => new S3ResultStore(s3, `contract-${crypto.randomUUID()}`),
);

/** A task table of its own, as the stack defines it, and a document client for it. */
const createTaskTable = async (): Promise<{ client: DynamoDBDocumentClient; table: string }> => {
  const table = `contract-${crypto.randomUUID()}`;
  await dynamo.send(
    new CreateTableCommand(taskTableInput({ ...defineResources().table, name: table }, { stream: false })),
  );
  const client = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  return { client, table };
};

// moto serves DynamoDB's requests one at a time here (src/local/moto_server_serialized.py), so its
// conditional writes are atomic, as DynamoDB's are: the concurrency tests run on it too.
describeTaskStoreContract('DynamoTaskStore on moto', async () => {
  const { client, table } = await createTaskTable();
  return { store: new DynamoTaskStore(client, table), cleanup: () => moto.reset() };
});

describeJobLedgerContract('DynamoTaskStore on moto', async () => {
  const { client, table } = await createTaskTable();
  return { store: new DynamoTaskStore(client, table), cleanup: () => moto.reset() };
});

describeJobControlsContract('DynamoTaskStore on moto', async () => {
  const { client, table } = await createTaskTable();
  return { store: new DynamoTaskStore(client, table), cleanup: () => moto.reset() };
});

describeIdempotencyStoreContract('DynamoIdempotencyStore on moto', async () => {
  const { client, table } = await createTaskTable();
  return { store: new DynamoIdempotencyStore(client, table), cleanup: () => moto.reset() };
});

describeHealthStoreContract(
  'DynamoHealthStore on moto',
  async () => {
    const { client, table } = await createTaskTable();
    return { store: new DynamoHealthStore(client, table), cleanup: () => moto.reset() };
  },
  {
    // Atomic on the serialized moto as on DynamoDB; but the store gives a breaker five optimistic tries
    // (then HealthContentionError, by design), and ten writers at once can take more.
    concurrencyUntestableBecause: 'ten concurrent writers exceed the store’s five read-modify-write tries',
  },
);
