import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import type { SseMessage } from '../../src/util/sse.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';
import { readEvents } from '../support/sse.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
/** About 60 chunks of 1 KiB; a third of the tries fail, some chunks for good; each try takes 20 ms. */
const INPUT = Buffer.from(
  Array.from({ length: 1200 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(40)}"}\n`).join(''),
);
const PIPELINE = 'chaos:fail=0.3:poison=0.05:delay=20:seed=7';

let server: TestServer;
let base: string;

const submit = async (query: string): Promise<Response> =>
  fetch(`${base}/jobs?chunkSize=1024&maxAttempts=3&pipeline=${PIPELINE}&${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: INPUT,
  });

const submitJob = async (query = ''): Promise<string> => {
  const response = await submit(query);
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
};

const getJson = async <T>(path: string): Promise<T> => (await (await fetch(`${base}${path}`)).json()) as T;

const waitFor = async (check: () => boolean, ms = 15_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
};

/** Every event but progress, which a newer one replaces in the log: what a resumed client must not miss. */
const details = (events: SseMessage[]) => events.filter((e) => e.type !== 'progress');

beforeAll(async () => {
  server = await startTestServer('events', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
    { path: ['retry', 'base_delay_ms'], value: 5, flag: 'retry.base_delay_ms' },
    { path: ['retry', 'max_delay_ms'], value: 20, flag: 'retry.max_delay_ms' },
    { path: ['notify', 'webhook_secret'], value: SECRET, flag: 'notify.webhook_secret' },
  ]);
  base = server.server.url;
});
afterAll(async () => server?.close());

describe('GET /jobs/{id}/events on the embedded engine', () => {
  it('resumes after Last-Event-ID with nothing missed and nothing twice, and ends with end', async () => {
    const jobId = await submitJob();
    const url = `${base}/jobs/${jobId}/events`;
    const whole = readEvents(url);
    const first = await readEvents(url, {
      enough: (read) => read.some((e) => e.type === 'failure') && read.length >= 3,
    });
    expect(first.closedByServer).toBe(false);
    const lastSeen = first.events.at(-1)?.id as number;
    await sleep(300);
    const rest = await readEvents(url, { lastEventId: lastSeen });
    const all = [...first.events, ...rest.events];
    const ids = all.map((e) => Number(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(rest.events.every((e) => Number(e.id) > lastSeen)).toBe(true);
    expect(all.at(-1)?.type).toBe('end');
    expect(all.filter((e) => e.type === 'end')).toHaveLength(1);
    const full = (await whole).events;
    expect(details(all)).toEqual(details(full));

    // The counts the events carry are the task records' own.
    const view = await getJson<JobView>(`/jobs/${jobId}`);
    const end = all.at(-1)?.data as JobView;
    expect(end.status).toBe(view.status);
    expect(end.chunksFailed).toBe(view.chunksFailed);
    const { tasks } = await getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`);
    const failedTries = tasks.flatMap((t) => t.attempts).filter((a) => a.outcome !== 'completed');
    expect(failedTries.length).toBeGreaterThan(0);
    const failures = full.filter((e) => e.type === 'failure');
    expect(failures).toHaveLength(failedTries.length);
    expect(failures.filter((e) => (e.data as { final: boolean }).final)).toHaveLength(view.chunksFailed);
    const retried = tasks.flatMap((t) => t.attempts).filter((a) => a.outcome === 'retrying');
    expect(full.filter((e) => e.type === 'retry')).toHaveLength(retried.length);
    const moved = tasks.flatMap((t) =>
      t.attempts.filter((a, i) => i > 0 && t.attempts[i - 1]?.target !== a.target),
    );
    expect(full.filter((e) => e.type === 'redistribution')).toHaveLength(moved.length);
  });

  it('replays the whole log of a job that ended, and 404s an unknown job', async () => {
    const jobId = await submitJob();
    await getJson(`/jobs/${jobId}?wait=30`);
    const read = await readEvents(`${base}/jobs/${jobId}/events`);
    expect(read.closedByServer).toBe(true);
    expect(read.events.at(-1)?.type).toBe('end');
    const unknown = await fetch(`${base}/jobs/no-such-job/events`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    const bad = await fetch(`${base}/jobs/${jobId}/events`, { headers: { 'last-event-id': 'x1' } });
    expect(bad.status).toBe(400);
  });
});

describe('GET /jobs/{id}?wait=', () => {
  it('answers as soon as the status or counts change', async () => {
    const jobId = await submitJob();
    const before = await getJson<JobView>(`/jobs/${jobId}`);
    const started = Date.now();
    const after = await getJson<JobView>(`/jobs/${jobId}?wait=30`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect([after.status, after.chunksCompleted, after.chunksFailed]).not.toEqual([
      before.status,
      before.chunksCompleted,
      before.chunksFailed,
    ]);
  });

  it.each(['0', '61', 'abc', '1.5', ''])('refuses wait=%s with 400', async (wait) => {
    const jobId = await submitJob();
    const response = await fetch(`${base}/jobs/${jobId}?wait=${wait}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/wait must be/);
  });
});

describe('webhooks of a job submitted with callbackUrl', () => {
  const verify = (body: string, headers: Record<string, string>) =>
    new Webhook(SECRET).verify(body, headers) as { type: string; data: JobView };

  it('get exactly one signed end notification per job', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const jobs = await Promise.all([1, 2, 3].map(() => submitJob(`callbackUrl=${receiver.url}`)));
      await waitFor(() => receiver.received.length >= 3);
      await sleep(1000);
      expect(receiver.received).toHaveLength(3);
      const got = receiver.received.map((r) => verify(r.body, r.headers));
      expect(got.map((g) => g.data.jobId).sort()).toEqual([...jobs].sort());
      for (const { type, data } of got) {
        const view = await getJson<JobView>(`/jobs/${data.jobId}`);
        expect(data.status).toBe(view.status);
        expect(type).toBe(view.status === 'failed' ? 'job.failed' : 'job.completed');
      }
      expect(() =>
        verify(receiver.received[0]?.body ?? '', {
          ...receiver.received[0]?.headers,
          'webhook-id': 'forged',
        }),
      ).toThrow();
    } finally {
      await receiver.stop();
    }
  });

  it('reach a receiver that fails twice on the third try, with the same id', async () => {
    const receiver = await startWebhookReceiver([500, 500]);
    try {
      await submitJob(`callbackUrl=${receiver.url}`);
      await waitFor(() => receiver.received.length >= 3);
      await sleep(500);
      expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 200]);
      expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
      for (const r of receiver.received) expect(verify(r.body, r.headers).type).toBe('job.completed');
    } finally {
      await receiver.stop();
    }
  });

  it('with notify=progress also carry progress, then one end', async () => {
    const receiver = await startWebhookReceiver();
    try {
      await submitJob(`callbackUrl=${receiver.url}&notify=progress`);
      await waitFor(() => receiver.received.some((r) => verify(r.body, r.headers).type !== 'job.progress'));
      const types = receiver.received.map((r) => verify(r.body, r.headers).type);
      expect(types.filter((t) => t !== 'job.progress')).toHaveLength(1);
      expect(types.at(-1)).not.toBe('job.progress');
      expect(types.filter((t) => t === 'job.progress').length).toBeGreaterThan(0);
    } finally {
      await receiver.stop();
    }
  });

  it.each([
    ['http://example.com/hook', /must be https/],
    ['not a url', /absolute https URL/],
  ])('refuses callbackUrl %s with 400', async (url, detail) => {
    const response = await submit(`callbackUrl=${encodeURIComponent(url)}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toMatch(detail);
  });
});
