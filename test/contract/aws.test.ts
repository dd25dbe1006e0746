import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { SqsQueue } from '../../src/adapters/aws/sqs-queue.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';
import { type ContractMessage, describeQueueContract } from './queue.contract.ts';

let moto: Moto;
let sqs: SQSClient;

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
});

afterAll(async () => {
  sqs?.destroy();
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
