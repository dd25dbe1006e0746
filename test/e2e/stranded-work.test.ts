import { randomUUID } from 'node:crypto';
import { PurgeQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { TaskState } from '../../src/core/constants.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { chaosJob, drainSqs, waitFor } from '../support/e2e.ts';
import { type EmulatorRig, startEmulatorRig } from '../support/emulator-rig.ts';

const CHUNK_SIZE = 1024;
const { line, input } = chaosJob(5, 0, CHUNK_SIZE);
/** Retryable failures on a fifth of the tries, no poison: every chunk completes, so the result reads. */
const PIPELINE = 'validate,chaos:fail=0.2:seed=5,transform:uppercase';
const GRACE_MS = 2000;

const prefix = `sw-${randomUUID().slice(0, 8)}`;
// An 8 s function timeout, above a publish's 5 s timeout to a Pub/Sub that stopped answering: SQS hands a
// delivery left unsettled out again after 48 s.
const resources = defineResources({ prefix, processorTimeoutSeconds: 8 });
const gcp = defineGcpResources({ prefix, processorTimeoutSeconds: 8 });

let rig: EmulatorRig;
const logged: string[] = [];

beforeAll(async () => {
  // The functions' Powertools loggers write JSON lines, warnings to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk, ...rest) => {
      logged.push(String(chunk));
      return write(chunk, ...(rest as []));
    });
  }
  rig = await startEmulatorRig({
    resources,
    gcp,
    env: {
      FANOUT_DELIVERY_GRACE_MS: String(GRACE_MS),
      FANOUT_RECONCILE_INTERVAL_MS: '1000',
      FANOUT_RECONCILE_STRANDED_AFTER_MS: '8000',
      FANOUT_RECONCILE_BREAKER_OPEN_MS: '3000',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
  });
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await rig?.stop();
});

interface Job {
  status: string;
  chunksTotal: number;
  chunksCompleted: number;
  chunksFailed: number;
}

/** Waits until every chunk of the job completed, then reads its tasks and its result. */
const completed = async (jobId: string, chunks: number, timeoutMs: number) => {
  const job = await waitFor(async () => {
    const view = await rig.getJson<Job>(`/jobs/${jobId}`);
    return view.status === 'completed' && view.chunksCompleted === chunks ? view : undefined;
  }, timeoutMs);
  const { tasks } = await rig.getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`);
  const result = await fetch(`${rig.mode.url}/jobs/${jobId}/result`);
  return { job, tasks, result: { status: result.status, text: await result.text() } };
};

const expectEachCompletedOnce = (tasks: readonly TaskRecord[], chunks: number): void => {
  expect(tasks.map((task) => task.index)).toEqual(Array.from({ length: chunks }, (_, i) => i));
  for (const task of tasks) {
    expect(task.state).toBe(TaskState.completed);
    expect(task.attempts.filter((a) => a.outcome === TaskState.completed)).toHaveLength(1);
    expect(task.attempts.at(-1)?.outcome).toBe(TaskState.completed);
  }
};

const expected = (chunks: number): string =>
  Array.from({ length: chunks }, (_, i) => line(i).toUpperCase()).join('');

const queueUrl = (): string => rig.mode.provisioned.queueUrls.aws?.medium as string;

/** Sends a message straight to the AWS target's queue, as anyone allowed to send there could; its id. */
const sendRaw = async (message: ChunkMessage): Promise<string> =>
  (await rig.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(), MessageBody: JSON.stringify(message) })))
    .MessageId as string;

/** The next `count` messages to reach the AWS dead-letter queue. */
const deadLetters = async (count: number): Promise<ChunkMessage[]> => {
  const found: ChunkMessage[] = [];
  return waitFor(async () => {
    found.push(...(await drainSqs(rig.sqs, rig.mode.provisioned.deadLetterUrls.aws as string)));
    return found.length >= count ? found : undefined;
  }, 60_000);
};

const refusedLine = (messageId: string): string | undefined =>
  logged.find((text) => text.includes('delivery refused') && text.includes(messageId));

describe('messages checked against their job (emulator mode, sent by the AWS SDK to the SQS queue)', () => {
  it('refuses index 9 and 999999 of a completed 9-chunk job: dead-lettered, logged, the job unchanged', async () => {
    // Prepare
    const jobId = await rig.submit(
      `pipeline=validate,transform:uppercase&chunkSize=${CHUNK_SIZE}&targets=aws`,
      input(9),
    );
    await completed(jobId, 9, 60_000);
    const [last] = (await rig.getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`)).tasks.slice(-1);
    const lookalike = {
      jobId,
      attempt: 1,
      routedAt: Date.now(),
      sha256: last?.sha256 as string,
      bytes: 1024,
      input: 'x:0:1024',
    };

    // Act
    const ids = [await sendRaw({ ...lookalike, index: 9 }), await sendRaw({ ...lookalike, index: 999_999 })];
    const dead = await deadLetters(2);
    const after = await completed(jobId, 9, 10_000);

    // Assess
    expect(dead.map((m) => m.index).sort((a, b) => a - b)).toEqual([9, 999_999]);
    for (const id of ids) expect(refusedLine(id)).toMatch(/beyond the job's 9 chunks/);
    expect(after.job).toMatchObject({
      status: 'completed',
      chunksTotal: 9,
      chunksCompleted: 9,
      chunksFailed: 0,
    });
    expect(after.tasks).toHaveLength(9);
    expect(after.result).toEqual({ status: 200, text: expected(9) });
  }, 90_000);

  it('holds a message of an unknown job for the grace, then dead-letters it with a log line', async () => {
    // Prepare
    const jobId = randomUUID();
    const message = {
      jobId,
      index: 0,
      attempt: 1,
      routedAt: Date.now(),
      sha256: 'ab'.repeat(32),
      bytes: 1,
      input: 'x:0:1',
    };

    // Act
    const sentAt = Date.now();
    const id = await sendRaw(message);
    const dead = await deadLetters(1);

    // Assess
    expect(dead).toEqual([message]);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(GRACE_MS);
    expect(refusedLine(id)).toMatch(new RegExp(`job ${jobId} is not known`));
  }, 90_000);
});

describe('the reconciler (emulator mode)', () => {
  it('sends again the tries whose messages were purged from the SQS queue in mid-job: completes byte-exact, once each', async () => {
    // Prepare
    const chunks = 300;

    // Act
    const jobId = await rig.submit(
      `pipeline=${PIPELINE}&chunkSize=${CHUNK_SIZE}&maxAttempts=10&targets=aws`,
      input(chunks),
    );
    await rig.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl() }));
    const { tasks, result } = await completed(jobId, chunks, 180_000);

    // Assess
    expectEachCompletedOnce(tasks, chunks);
    expect(result).toEqual({ status: 200, text: expected(chunks) });
  }, 240_000);

  // Last: it kills the Pub/Sub emulator.
  it('completes a round_robin job on AWS after the Pub/Sub emulator is killed a few seconds in', async () => {
    // Prepare
    const chunks = 400;
    const startedAt = Date.now();
    const jobId = await rig.submit(
      `pipeline=${PIPELINE}&chunkSize=${CHUNK_SIZE}&maxAttempts=10&strategy=round_robin&targets=aws,gcp`,
      input(chunks),
    );

    // Act
    await new Promise((resolve) => setTimeout(resolve, 3000));
    process.kill(rig.pubsubEmulator.pid, 'SIGKILL');
    const { tasks, result } = await completed(jobId, chunks, 240_000);
    const tookMs = Date.now() - startedAt;

    // Assess
    console.info(`after the Pub/Sub emulator was killed, ${chunks} chunks completed in ${tookMs} ms`);
    expectEachCompletedOnce(tasks, chunks);
    expect(tasks.some((task) => task.attempts.some((a) => a.target === 'gcp'))).toBe(true);
    expect(result).toEqual({ status: 200, text: expected(chunks) });
  }, 300_000);
});
