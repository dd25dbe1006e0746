import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { PRIORITIES, TaskState } from '../../src/core/constants.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { waitFor } from '../support/e2e.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

// The AWS side alone: the Google side's lanes are another branch's work (gcp-lanes).
// Six slots, two a lane: the least SQS allows each mapping, and a shallow queue.
const resources = defineResources({
  prefix: `lanes-${randomUUID().slice(0, 8)}`,
  processorTimeoutSeconds: 30,
  maxConcurrentTasks: 6,
  laneShares: { high: 34, medium: 33, low: 33 },
});
const SLOTS = 6;
/** Each try takes this long: a processor instance runs its batch's chunks one after another. */
const DELAY_MS = 50;
/**
 * 40x the slots, not the least 20x: a processor records a batch's tries together when the batch ends, so
 * the backlog must fill both slots of its lane with batches of up to 100 for a job that shared the lane
 * to have to wait (checked: with every job in one lane, both tests fail).
 */
const BACKLOG_CHUNKS = 40 * SLOTS;
const URGENT_CHUNKS = 4;

let moto: Moto;
let mode: EmulatorMode;
let dynamo: DynamoDBClient;
let tasks: DynamoTaskStore;

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, {
    ...awsEmulatorEnvironment(moto.endpoint),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  mode = await startEmulatorMode({ resources, port: 0 });
  dynamo = new DynamoDBClient(awsClientConfig(moto.endpoint));
  tasks = new DynamoTaskStore(DynamoDBDocumentClient.from(dynamo), resources.table.name);
}, 60_000);

afterAll(async () => {
  await mode?.stop();
  dynamo?.destroy();
  await moto?.stop();
});

/** `chunks` lines of 1 KiB: one chunk each. */
const input = (chunks: number): string =>
  Array.from({ length: chunks }, (_, i) => `${`line ${i} `.padEnd(1023, 'x')}\n`).join('');

/** Submits a job of `chunks` slow chunks in lane `priority`; its id once its every chunk is queued. */
const submit = async (priority: string, chunks: number): Promise<string> => {
  const query = `pipeline=chaos:delay=${DELAY_MS}&chunkSize=1024&targets=aws&priority=${priority}`;
  const response = await fetch(`${mode.url}/jobs?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: input(chunks),
  });
  expect(response.status).toBe(202);
  const { jobId } = (await response.json()) as { jobId: string };
  await waitFor(async () => {
    const view = (await (await fetch(`${mode.url}/jobs/${jobId}`)).json()) as { status: string };
    return view.status === 'ingesting' ? undefined : true;
  }, 10_000);
  return jobId;
};

/** The job's tasks once all `chunks` have completed. */
const completed = (jobId: string, chunks: number): Promise<TaskRecord[]> =>
  waitFor(async () => {
    const ended = (await tasks.listTasks(jobId)).filter((task) => task.state === TaskState.completed);
    return ended.length === chunks ? ended : undefined;
  }, 30_000);

/** When a task's last try ended; on AWS a batch's tries are recorded together, at the batch's end. */
const endOf = (task: TaskRecord): number => task.attempts.at(-1)?.endedAt ?? Number.POSITIVE_INFINITY;

describe('priority lanes in emulator mode (AWS on moto)', () => {
  it('runs each lane from its own queue with its own two slots', () => {
    // Act
    const split = PRIORITIES.map((lane) => resources.queues[0]?.lanes[lane].maxConcurrency);

    // Assess
    expect(split).toEqual([2, 2, 2]);
    expect(Object.keys(mode.provisioned.queueUrls.aws ?? {})).toEqual(['high', 'medium', 'low']);
  });

  it('completes a high job submitted behind a low backlog of 40x the slots before a quarter of the backlog', async () => {
    // Prepare
    const backlog = await submit('low', BACKLOG_CHUNKS);

    // Act
    const urgent = await completed(await submit('high', URGENT_CHUNKS), URGENT_CHUNKS);
    const backlogDone = await completed(backlog, BACKLOG_CHUNKS);

    // Assess
    const urgentDone = Math.max(...urgent.map(endOf));
    const backlogBefore = backlogDone.filter((task) => endOf(task) <= urgentDone).length;
    expect(backlogBefore).toBeLessThan(BACKLOG_CHUNKS / 4);
  }, 40_000);

  it('completes a low job under a steady stream of high work while the stream still waits', async () => {
    // Prepare: a high stream as large as the backlog above, then a small low job behind it.
    const stream = await submit('high', BACKLOG_CHUNKS);

    // Act
    const low = await completed(await submit('low', URGENT_CHUNKS), URGENT_CHUNKS);
    const streamDone = await completed(stream, BACKLOG_CHUNKS);

    // Assess: the low lane's tries were taken and ended while most of the stream still waited.
    const lowDone = Math.max(...low.map(endOf));
    const streamBefore = streamDone.filter((task) => endOf(task) <= lowDone).length;
    expect(streamBefore).toBeLessThan(BACKLOG_CHUNKS / 4);
    expect(lowDone).toBeLessThan(Math.max(...streamDone.map(endOf)));
  }, 40_000);
});
