import { afterAll, beforeAll } from 'vitest';
import { createPubSubClients, type PubSubClients } from '../../src/adapters/gcp/clients.ts';
import { PubSubQueue } from '../../src/adapters/gcp/pubsub-queue.ts';
import { type PubsubEmulator, startPubsubEmulator } from '../support/pubsub.ts';
import { type ContractMessage, describeQueueContract } from './queue.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

let emulator: PubsubEmulator;
let clients: PubSubClients;

beforeAll(async () => {
  emulator = await startPubsubEmulator();
  clients = await createPubSubClients({ emulatorHost: emulator.address, projectId: 'fanout-contract' });
});

afterAll(async () => {
  await clients?.close();
  await emulator?.stop();
});

const makeQueue = (deadLetter: boolean) => async () => {
  const name = `contract-${crypto.randomUUID()}`;
  const [topic] = await clients.pubsub.createTopic(name);
  if (deadLetter) {
    const [deadLetterTopic] = await clients.pubsub.createTopic(`${name}-dlq`);
    await deadLetterTopic.createSubscription(`${name}-dlq`);
    await topic.createSubscription(name, {
      deadLetterPolicy: { deadLetterTopic: deadLetterTopic.name, maxDeliveryAttempts: 100 },
    });
  } else {
    await topic.createSubscription(name);
  }
  return {
    queue: new PubSubQueue<ContractMessage>(clients, { topic: name, subscription: name }),
    cleanup: () => emulator.reset(),
  };
};

// Ack deadlines are whole seconds, as SQS's visibility timeouts are.
describeQueueContract('PubSubQueue on the Pub/Sub emulator', makeQueue(false), {
  visibilityGranularityMs: 1000,
  missing: () => {
    const name = `contract-${crypto.randomUUID()}`;
    return new PubSubQueue<ContractMessage>(clients, { topic: name, subscription: name });
  },
});

// receiveCount from Pub/Sub's deliveryAttempt, which it counts only under a dead-letter policy.
describeQueueContract('PubSubQueue with a dead-letter policy on the Pub/Sub emulator', makeQueue(true), {
  visibilityGranularityMs: 1000,
});
