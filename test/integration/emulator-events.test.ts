import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPubSubClients, type PubSubClients } from '../../src/adapters/gcp/clients.ts';
import type { JobView } from '../../src/core/job.ts';
import type { TargetView } from '../../src/core/stats/targets.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import type { Timeline } from '../../src/core/timeline.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { emulatorEnvironment, PUBSUB_PROJECT_ID } from '../../src/local/emulator-state.ts';
import type { SseMessage } from '../../src/util/sse.ts';
import { launchChromium } from '../support/browser.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';
import { type PubsubEmulator, startPubsubEmulator } from '../support/pubsub.ts';
import { readEvents } from '../support/sse.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const prefix = `evt-${randomUUID().slice(0, 8)}`;
const resources = defineResources({ prefix });
const gcp = defineGcpResources({ prefix });
/** About 30 chunks of 1 KiB; a third of the tries fail, some for good. */
const INPUT = Buffer.from(
  Array.from({ length: 600 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(40)}"}\n`).join(''),
);

let moto: Moto;
let pubsubEmulator: PubsubEmulator;
let pubsub: PubSubClients;
let mode: EmulatorMode;
let sqs: SQSClient;
let queueUrl: string;

const submit = async (query = ''): Promise<string> => {
  const response = await fetch(
    `${mode.url}/jobs?chunkSize=1024&maxAttempts=3&pipeline=chaos:fail=0.3:poison=0.05:seed=5&${query}`,
    { method: 'POST', headers: { 'content-type': 'text/plain' }, body: INPUT },
  );
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
};

const getJson = async <T>(path: string): Promise<T> =>
  (await (await fetch(`${mode.url}${path}`)).json()) as T;

/** The events a rule for `source: fanout` delivered to its queue so far. */
const drainQueue = async (): Promise<{ 'detail-type': string; detail: JobView }[]> => {
  const got: { 'detail-type': string; detail: JobView }[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (Messages.length === 0) return got;
    for (const m of Messages) got.push(JSON.parse(m.Body ?? '{}'));
  }
};

beforeAll(async () => {
  [moto, pubsubEmulator] = await Promise.all([startMoto(), startPubsubEmulator()]);
  Object.assign(process.env, {
    ...emulatorEnvironment({ moto, pubsub: pubsubEmulator }),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    FANOUT_RETRY_BASE_DELAY_MS: '50',
    FANOUT_RETRY_MAX_DELAY_MS: '250',
    FANOUT_NOTIFY_WEBHOOK_SECRET: SECRET,
  });
  const config = awsClientConfig(moto.endpoint);
  sqs = new SQSClient(config);
  const events = new EventBridgeClient(config);
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${resources.prefix}-job-ends` })))
    .QueueUrl as string;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await events.send(
    new PutRuleCommand({
      Name: `${resources.prefix}-ends`,
      EventPattern: JSON.stringify({ source: ['fanout'] }),
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: `${resources.prefix}-ends`,
      Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
    }),
  );
  events.destroy();
  mode = await startEmulatorMode({ resources, gcp, port: 0, maxConcurrency: 2 });
  pubsub = await createPubSubClients({ projectId: PUBSUB_PROJECT_ID });
  await pubsub.pubsub.createSubscription(gcp.jobEventsTopic, `${prefix}-job-ends`);
}, 90_000);

afterAll(async () => {
  await mode?.stop();
  sqs?.destroy();
  await pubsub?.close();
  await Promise.all([moto?.stop(), pubsubEmulator?.stop()]);
});

const details = (events: SseMessage[]) => events.filter((e) => e.type !== 'progress');

describe('job events in emulator mode, on both clouds', () => {
  it('streams a job resumably, announces its end once on EventBridge, Pub/Sub and to its webhook', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const jobId = await submit(`callbackUrl=${encodeURIComponent(receiver.url)}`);
      const url = `${mode.url}/jobs/${jobId}/events`;
      const whole = readEvents(url);
      const first = await readEvents(url, { enough: (read) => read.length >= 2 });
      const lastSeen = first.events.at(-1)?.id as number;
      await sleep(500);
      const rest = await readEvents(url, { lastEventId: lastSeen });
      const all = [...first.events, ...rest.events];
      const ids = all.map((e) => Number(e.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(all.at(-1)?.type).toBe('end');
      const full = (await whole).events;
      expect(details(all)).toEqual(details(full));

      const view = await getJson<JobView>(`/jobs/${jobId}`);
      expect(((full.at(-1) as SseMessage).data as JobView).status).toBe(view.status);
      const { tasks } = await getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`);
      const failedTries = tasks.flatMap((t) => t.attempts).filter((a) => a.outcome !== 'completed');
      expect(failedTries.length).toBeGreaterThan(0);
      expect(full.filter((e) => e.type === 'failure')).toHaveLength(failedTries.length);

      // EventBridge: one event, through a rule, to its queue.
      const deadline = Date.now() + 20_000;
      let ends: { 'detail-type': string; detail: JobView }[] = [];
      while (ends.length === 0 && Date.now() < deadline) ends = await drainQueue();
      ends.push(...(await drainQueue()));
      expect(ends.map((e) => e.detail.jobId)).toEqual([jobId]);
      expect(ends[0]?.['detail-type']).toBe(view.status === 'failed' ? 'Job Failed' : 'Job Completed');
      expect(ends[0]?.detail.status).toBe(view.status);

      // The Google topic of job events: one message.
      const [pulled] = await pubsub.subscriber.pull({
        subscription: `projects/${PUBSUB_PROJECT_ID}/subscriptions/${prefix}-job-ends`,
        maxMessages: 10,
      });
      const published = (pulled.receivedMessages ?? []).map((m) => m.message);
      expect(published.map((m) => m?.attributes?.jobId)).toEqual([jobId]);
      expect(JSON.parse(Buffer.from(published[0]?.data ?? '').toString())).toMatchObject({
        job: { jobId, status: view.status },
      });

      // The webhook: one, signed.
      while (receiver.received.length === 0 && Date.now() < deadline) await sleep(100);
      await sleep(1000);
      expect(receiver.received).toHaveLength(1);
      const { headers, body } = receiver.received[0] as { headers: Record<string, string>; body: string };
      expect((new Webhook(SECRET).verify(body, headers) as { data: JobView }).data.jobId).toBe(jobId);
    } finally {
      await receiver.stop();
    }
  }, 90_000);

  it('long-polls through the ingest function, and refuses a bad wait', async () => {
    const jobId = await submit();
    const before = await getJson<JobView>(`/jobs/${jobId}`);
    const after = await getJson<JobView>(`/jobs/${jobId}?wait=20`);
    expect([after.status, after.chunksCompleted, after.chunksFailed]).not.toEqual([
      before.status,
      before.chunksCompleted,
      before.chunksFailed,
    ]);
    expect((await fetch(`${mode.url}/jobs/${jobId}?wait=0`)).status).toBe(400);
    expect((await fetch(`${mode.url}/jobs/${randomUUID()}/events`)).status).toBe(404);
  }, 60_000);

  it('streams the service events, and serves targets, a timeline and task pages through ingest', async () => {
    // Prepare
    const connected = Promise.withResolvers<void>();
    let jobId = '';
    const reading = readEvents(`${mode.url}/events`, {
      enough: (events) => {
        if (events.length > 0) connected.resolve();
        return events.some(
          (e) => e.type === 'job' && (e.data as JobView).jobId === jobId && (e.data as JobView).completedAt,
        );
      },
    });
    await connected.promise;

    // Act
    jobId = await submit();
    const { events } = await reading;
    const [targets, timeline, page, tasks] = await Promise.all([
      getJson<{ targets: Record<string, TargetView> }>('/targets'),
      getJson<Timeline>(`/jobs/${jobId}/timeline`),
      getJson<{ tasks: TaskRecord[]; nextCursor: string | null }>(`/jobs/${jobId}/tasks?limit=5`),
      getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`),
    ]);

    // Assess
    const snapshot = events[0]?.data as { jobs: JobView[]; targets: Record<string, TargetView> };
    expect(events[0]?.type).toBe('snapshot');
    expect(Object.keys(snapshot.targets).sort()).toEqual(Object.keys(targets.targets).sort());
    expect(Object.keys(targets.targets)).toHaveLength(2);
    for (const target of Object.values(targets.targets)) {
      expect(target).toMatchObject({ breaker: expect.any(String), changes: expect.any(Array) });
      expect(target).not.toHaveProperty('inFlight');
    }
    expect(events.filter((e) => e.type === 'job').at(-1)?.data).toMatchObject({
      jobId,
      completedAt: expect.any(String),
    });
    const tries = tasks.tasks.flatMap((t) => t.attempts).length;
    expect(timeline.buckets.reduce((n, b) => n + b.tries, 0)).toBe(tries);
    expect(page.tasks.map((t) => t.index)).toEqual([0, 1, 2, 3, 4]);
    expect(page.nextCursor).toEqual(expect.any(String));
  }, 60_000);

  it('serves the dashboard, which lists the jobs and targets the ingest function answers', async () => {
    // Prepare
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext()).newPage();
      const { jobs } = await getJson<{ jobs: JobView[] }>('/jobs');

      // Act
      await page.goto(`${mode.url}/`);
      const rows = page.getByRole('table', { name: 'Jobs' }).locator('tr[data-job-id]');
      await rows.first().waitFor();
      const listed = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job-id')));
      await page.getByRole('link', { name: 'Targets' }).click();
      const targets = page.getByRole('table', { name: 'Targets' }).locator('tr[data-target]');
      await targets.first().waitFor();

      // Assess
      expect(listed).toEqual(jobs.map((job) => job.jobId));
      expect(await targets.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-target')))).toEqual(
        expect.arrayContaining(['aws', 'gcp']),
      );
    } finally {
      await browser.close();
    }
  }, 60_000);
});
