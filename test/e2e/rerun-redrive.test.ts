import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPubSubClients, type PubSubClients } from '../../src/adapters/gcp/clients.ts';
import { TaskState } from '../../src/core/constants.ts';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { PUBSUB_PROJECT_ID } from '../../src/local/emulator-state.ts';
import { chaosJob, waitFor } from '../support/e2e.ts';
import { type EmulatorRig, startEmulatorRig } from '../support/emulator-rig.ts';
import { jobOps } from '../support/job-ops.ts';

const CHUNK_SIZE = 1024;
const { line, input } = chaosJob(7, 0, CHUNK_SIZE);
const expected = (chunks: number): string =>
  Array.from({ length: chunks }, (_, i) => line(i).toUpperCase()).join('');

const prefix = `rerun-${randomUUID().slice(0, 8)}`;
const resources = defineResources({ prefix, processorTimeoutSeconds: 30 });
const gcp = defineGcpResources({ prefix, processorTimeoutSeconds: 30 });

let rig: EmulatorRig;
let pubsub: PubSubClients;

beforeAll(async () => {
  rig = await startEmulatorRig({
    resources,
    gcp,
    env: {
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      // Both targets fail every try during the outage: breakers left closed keep the retries moving.
      FANOUT_BREAKER_FAILURE_THRESHOLD: '100000',
    },
  });
  pubsub = await createPubSubClients({ projectId: PUBSUB_PROJECT_ID });
}, 60_000);

afterAll(async () => {
  await pubsub?.close();
  await rig?.stop();
});

const { call, view, tasksOf, settled } = jobOps(() => rig);
const ENDED = [TaskState.completed, TaskState.failed, TaskState.cancelled];

describe('a re-run after an outage of both clouds, then a redrive of its dead letters', () => {
  const CHUNKS = 24;
  const OUTAGE_MS = 15_000;
  let jobId: string;
  let failedRun: { job: JobView; tasks: TaskRecord[] };
  let rerun: { job: JobView; tasks: TaskRecord[] };

  beforeAll(async () => {
    jobId = await rig.submit(
      `pipeline=validate,chaos:target=aws:for=${OUTAGE_MS},chaos:target=gcp:for=${OUTAGE_MS},transform:uppercase` +
        `&chunkSize=${CHUNK_SIZE}&maxAttempts=2&strategy=round_robin&targets=aws,gcp`,
      input(CHUNKS),
    );
  });

  it('answers POST /retry 409 job-running while it runs, and 404 for an unknown job', async () => {
    // Act
    const running = await call('POST', `/jobs/${jobId}/retry`);
    const unknown = await call('POST', `/jobs/${randomUUID()}/retry`);

    // Assess
    expect(running.status).toBe(409);
    expect(running.body.type).toMatch(/job-running$/);
    expect(unknown.status).toBe(404);
  });

  it('re-runs the chunks that failed for good once the outage is over: completes byte-exact, history kept', async () => {
    // Prepare
    failedRun = await settled(jobId, (s) => s === 'failed' || s === 'completed_with_failures', ENDED);
    const failed = failedRun.tasks.filter((t) => t.state === TaskState.failed);
    await sleep(Date.parse(failedRun.job.createdAt) + OUTAGE_MS - Date.now());

    // Act
    const retried = await call('POST', `/jobs/${jobId}/retry`);
    const rerunAt = Date.now();
    rerun = await settled(jobId, (s) => s === 'completed', [TaskState.completed]);
    const result = await fetch(`${rig.mode.url}/jobs/${jobId}/result`);

    // Assess
    console.info(
      `re-run: ${failed.length} of ${CHUNKS} chunks failed in the outage (${failedRun.job.status}); ` +
        `re-run completed in ${Date.now() - rerunAt} ms`,
    );
    expect(failed.length).toBeGreaterThan(0);
    expect(retried).toEqual({
      status: 202,
      body: { jobId, chunksRetried: failed.length, statusUrl: `/jobs/${jobId}` },
    });
    expect(rerun.job.chunksCompleted).toBe(CHUNKS);
    expect(result.status).toBe(200);
    expect(await result.text()).toBe(expected(CHUNKS));
    for (const before of failed) {
      const after = rerun.tasks[before.index] as TaskRecord;
      const tries = before.attempts.length;
      expect(after.attempts.slice(0, tries)).toEqual(before.attempts);
      expect(after.rerunFrom).toBe(tries);
      expect(after.attempts.slice(tries).map((a) => a.attempt)).toEqual(
        Array.from({ length: after.attempts.length - tries }, (_, i) => tries + 1 + i),
      );
      expect(after.attempts.at(-1)?.outcome).toBe(TaskState.completed);
    }
  }, 240_000);

  it("drops SQS's redrive of the AWS dead letters as duplicates: tasks and view unchanged, queues empty", async () => {
    // Prepare
    const { deadLetterUrls, queueUrls, queueArns } = rig.mode.provisioned;
    const lastOnAws = failedRun.tasks.filter(
      (t) => t.state === TaskState.failed && t.attempts.at(-1)?.target === 'aws',
    );

    // Act
    const moved = await redriveSqs(
      deadLetterUrls.aws as string,
      queueUrls.aws?.medium as string,
      queueArns.aws?.medium as string,
    );
    await waitFor(
      async () =>
        (await depth(queueUrls.aws?.medium as string)) + (await depth(deadLetterUrls.aws as string)) === 0
          ? true
          : undefined,
      60_000,
    );
    await sleep(6000); // the stats function's batching window, for a change it would fold

    // Assess
    expect(moved.indexes.sort((a, b) => a - b)).toEqual(lastOnAws.map((t) => t.index));
    console.info(`SQS redrive: ${moved.indexes.length} dead letters moved by ${moved.how}`);
    expect(await tasksOf(jobId)).toEqual(rerun.tasks);
    expect(await view(jobId)).toEqual(rerun.job);
  }, 120_000);

  it("drops a re-publish of the Pub/Sub dead-letter subscription's messages: nothing changes", async () => {
    // Prepare
    const deadLetters = rig.mode.provisionedGcp?.deadLetterSubscriptions.gcp as string;
    // The lane of the job, whose priority is the default.
    const topic = rig.mode.provisionedGcp?.topics.gcp?.medium as string;
    const lastOnGcp = failedRun.tasks.filter(
      (t) => t.state === TaskState.failed && t.attempts.at(-1)?.target === 'gcp',
    );
    const dead = await pullAll(deadLetters);

    // Act
    for (const data of dead) await pubsub.pubsub.topic(topic).publishMessage({ data });
    // A later job on gcp alone completes once the push subscription has handed out what came before it.
    const later = await rig.submit(`pipeline=validate&chunkSize=${CHUNK_SIZE}&targets=gcp`, input(2));
    await settled(later, (s) => s === 'completed', [TaskState.completed]);
    await sleep(6000);

    // Assess
    const indexes = dead.map((d) => (JSON.parse(d.toString()) as { index: number }).index);
    expect(indexes.sort((a, b) => a - b)).toEqual(lastOnGcp.map((t) => t.index));
    expect(await pullAll(deadLetters)).toEqual([]);
    expect(await tasksOf(jobId)).toEqual(rerun.tasks);
    expect(await view(jobId)).toEqual(rerun.job);
  }, 120_000);
});

/** Messages in an SQS queue, visible or in flight. */
const depth = async (queueUrl: string): Promise<number> => {
  const { Attributes = {} } = await rig.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  );
};

/**
 * SQS's redrive: `StartMessageMoveTask` from the dead-letter queue to its source queue. moto 5.2.1 does
 * not serve that action (it answers an HTML 404), so there the same move is made by hand: each message
 * received from the dead-letter queue, sent to the source queue as it is, then deleted.
 */
const redriveSqs = async (deadLetterUrl: string, queueUrl: string, queueArn: string) => {
  const received = await peek(deadLetterUrl);
  const indexes = received.map((m) => (JSON.parse(m.Body as string) as { index: number }).index);
  try {
    const { Attributes = {} } = await rig.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
    );
    await rig.sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: Attributes.QueueArn, DestinationArn: queueArn }),
    );
    return { indexes, how: 'StartMessageMoveTask' };
  } catch {
    for (const message of received) {
      await rig.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body as string }));
      await rig.sqs.send(
        new DeleteMessageCommand({ QueueUrl: deadLetterUrl, ReceiptHandle: message.ReceiptHandle as string }),
      );
    }
    return { indexes, how: 'receive, send and delete (moto serves no StartMessageMoveTask)' };
  }
};

/** Every message of an SQS queue, hidden for 2 s: a move task started within that time finds them again. */
const peek = async (queueUrl: string) => {
  const messages = [];
  for (;;) {
    const { Messages = [] } = await rig.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 2 }),
    );
    if (Messages.length === 0) return messages;
    messages.push(...Messages);
  }
};

/** Pulls and acknowledges everything a subscription holds now; the messages' data. */
const pullAll = async (subscription: string): Promise<Buffer[]> => {
  const data: Buffer[] = [];
  for (;;) {
    const [response] = await pubsub.subscriber.pull({
      subscription,
      maxMessages: 100,
      returnImmediately: true,
    });
    const received = response.receivedMessages ?? [];
    if (received.length === 0) return data;
    data.push(...received.map((r) => Buffer.from(r.message?.data ?? '')));
    await pubsub.subscriber.acknowledge({ subscription, ackIds: received.map((r) => r.ackId as string) });
  }
};
