import { CreateQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { answers, isEmulatorRunning } from '../../src/local/emulators.ts';
import { awsClientConfig, startMoto } from '../support/moto.ts';
import { startPubsubEmulator } from '../support/pubsub.ts';

describe('emulator processes', () => {
  it('startMoto answers on its port, reset clears it, stop ends the process', async () => {
    // Prepare
    const moto = await startMoto();
    onTestFinished(() => moto.stop());
    const sqs = new SQSClient(awsClientConfig(moto.endpoint));
    await sqs.send(new CreateQueueCommand({ QueueName: 'before-reset' }));

    // Act
    await moto.reset();
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    sqs.destroy();
    await moto.stop();

    // Assess
    expect(QueueUrls).toEqual([]);
    expect(isEmulatorRunning(moto)).toBe(false);
    expect(await answers(moto.port)).toBe(false);
  });

  it('startPubsubEmulator answers on its port, reset clears it, stop ends the process', async () => {
    // Prepare
    const pubsub = await startPubsubEmulator();
    onTestFinished(() => pubsub.stop());
    const topic = `${pubsub.endpoint}/v1/projects/fanout-local/topics/before-reset`;
    const created = await fetch(topic, { method: 'PUT' });

    // Act
    await pubsub.reset();
    const after = await fetch(topic);
    await pubsub.stop();

    // Assess
    expect(created.status).toBe(200);
    expect(pubsub.address).toBe(`127.0.0.1:${pubsub.port}`);
    expect(after.status).toBe(404);
    expect(isEmulatorRunning(pubsub)).toBe(false);
    expect(await answers(pubsub.port)).toBe(false);
  });
});
