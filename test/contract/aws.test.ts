import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { S3ResultStore } from '../../src/adapters/aws/s3-result-store.ts';
import { SqsQueue } from '../../src/adapters/aws/sqs-queue.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';
import { type ContractMessage, describeQueueContract } from './queue.contract.ts';
import { describeResultStoreContract } from './result-store.contract.ts';

let moto: Moto;
let sqs: SQSClient;
let s3: S3Client;

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
  s3 = new S3Client(awsClientConfig(moto.endpoint));
});

afterAll(async () => {
  sqs?.destroy();
  s3?.destroy();
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
  { visibilityGranularityMs: 1000 },
);

describeResultStoreContract('S3ResultStore on moto', async () => {
  const bucket = `contract-${crypto.randomUUID()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { store: new S3ResultStore(s3, bucket), cleanup: () => moto.reset() };
});
