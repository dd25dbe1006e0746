import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { TargetView } from '../../src/core/stats/targets.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import type { Timeline } from '../../src/core/timeline.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';
import { readEvents } from '../support/sse.ts';

/** 40 chunks of about 1 KiB; a third of the tries fail and are retried. */
const INPUT = Array.from({ length: 800 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(40)}"}\n`).join('');

let served: TestServer;
let base: string;

const getJson = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, body: (await response.json()) as T };
};

/** Submits a job and waits for it to end; its view. */
const runJob = async (query: string): Promise<JobView> => {
  const response = await fetch(`${base}/jobs?chunkSize=1024&${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: INPUT,
  });
  const { jobId } = (await response.json()) as { jobId: string };
  const view = async () => (await getJson<JobView>(`/jobs/${jobId}`)).body;
  await expect.poll(async () => (await view()).completedAt, { timeout: 20_000 }).not.toBeNull();
  return view();
};

beforeAll(async () => {
  served = await startTestServer('dashboard', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
    { path: ['retry', 'base_delay_ms'], value: 5, flag: 'retry.base_delay_ms' },
    { path: ['breaker', 'reset_timeout_ms'], value: 60_000, flag: 'breaker.reset_timeout_ms' },
  ]);
  base = served.server.url;
});
afterAll(async () => served?.close());

describe('the dashboard API on fanout serve', () => {
  it('GET /targets shows every configured target before any try, then its tries and breaker changes', async () => {
    // Prepare
    const before = await getJson<{ targets: Record<string, TargetView> }>('/targets');

    // Act
    await runJob('targets=aws&pipeline=chaos:target=aws&maxAttempts=1');
    const after = await getJson<{ targets: Record<string, TargetView> }>('/targets');

    // Assess
    expect(before.status).toBe(200);
    expect(Object.keys(before.body.targets).sort()).toEqual(['aws', 'gcp']);
    expect(before.body.targets.gcp).toMatchObject({
      breaker: 'closed',
      changes: [],
      attempts: 0,
      successRate: 0,
    });
    expect(before.body.targets.gcp).toHaveProperty('inFlight', 0);
    const aws = after.body.targets.aws as TargetView;
    expect(aws).toMatchObject({ breaker: 'open', breakerOpened: 1, completed: 0, successRate: 0 });
    expect(aws.retryableFailures + aws.permanentFailures).toBe(aws.attempts);
    expect(aws.changes).toEqual([{ at: expect.any(String), from: 'closed', to: 'open' }]);
    expect(Date.parse(aws.changes[0]?.at ?? '')).toBeLessThanOrEqual(Date.now());
    expect(after.body.targets.gcp?.changes).toEqual([]);
  });

  it('GET /jobs/{id}/tasks pages through every task once, in index order', async () => {
    // Prepare
    const { jobId } = await runJob('targets=gcp&pipeline=chaos:fail=0.3:seed=3&maxAttempts=5');
    const all = (await getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`)).body.tasks;
    const paged: number[] = [];
    let cursor: string | null = null;

    // Act
    do {
      const query: string = `limit=7${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await getJson<{ tasks: TaskRecord[]; nextCursor: string | null }>(
        `/jobs/${jobId}/tasks?${query}`,
      );
      expect(page.body.tasks.length).toBeLessThanOrEqual(7);
      paged.push(...page.body.tasks.map((t) => t.index));
      cursor = page.body.nextCursor;
    } while (cursor !== null);

    // Assess
    expect(all.length).toBeGreaterThan(30);
    expect(paged).toEqual(all.map((t) => t.index).sort((a, b) => a - b));
  });

  it('GET /jobs/{id}/timeline counts every try of the job once', async () => {
    // Prepare
    const { jobId } = await runJob('targets=gcp&pipeline=chaos:fail=0.3:seed=5&maxAttempts=5');
    const { tasks } = (await getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`)).body;

    // Act
    const { status, body } = await getJson<Timeline>(`/jobs/${jobId}/timeline`);

    // Assess
    expect(status).toBe(200);
    const tries = tasks.flatMap((t) => t.attempts);
    expect(body.buckets.reduce((n, b) => n + b.tries, 0)).toBe(tries.length);
    expect(body.buckets.reduce((n, b) => n + b.failed, 0)).toBe(
      tries.filter((a) => a.outcome !== 'completed').length,
    );
    expect(body.bucketMs % 1000).toBe(0);
    expect(body.buckets.length).toBeGreaterThan(0);
  });

  it.each([
    ['/jobs/{id}/tasks?limit=0', 400, /limit must be a whole number from 1 to 1000, got "0"/],
    ['/jobs/{id}/tasks?limit=5&cursor=!!', 400, /cursor is not one this API handed out/],
    ['/jobs/{id}/tasks?cursor=MQ', 400, /cursor needs limit/],
    ['/jobs/nope/tasks?limit=5', 404, /there is no job nope/],
    ['/jobs/nope/timeline', 404, /there is no job nope/],
  ])('GET %s answers %i naming what was wrong', async (path, status, detail) => {
    // Prepare
    const { jobs } = (await getJson<{ jobs: JobView[] }>('/jobs?limit=1')).body;

    // Act
    const response = await fetch(`${base}${path.replace('{id}', jobs[0]?.jobId ?? '')}`);

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/problem\+json/);
    expect(((await response.json()) as { detail: string }).detail).toMatch(detail);
  });

  it('GET /events sends a snapshot, then each change of a new job up to its end, then the targets', async () => {
    // Prepare
    const jobsBefore = (await getJson<{ jobs: JobView[] }>('/jobs?limit=1000')).body.jobs;
    let jobId = '';
    const connected = Promise.withResolvers<void>();
    const enough = (events: { type: string; data: unknown }[]) => {
      if (events.length > 0) connected.resolve();
      const ended = events.some(
        (e) => e.type === 'job' && (e.data as JobView).jobId === jobId && (e.data as JobView).completedAt,
      );
      return ended && events.some((e) => e.type === 'targets');
    };
    const reading = readEvents(`${base}/events`, { enough });
    await connected.promise;

    // Act
    jobId = (await runJob('targets=gcp&pipeline=chaos:delay=5')).jobId;
    const { events } = await reading;

    // Assess
    const [snapshot, ...rest] = events;
    expect(snapshot?.type).toBe('snapshot');
    const data = snapshot?.data as { jobs: JobView[]; targets: Record<string, TargetView> };
    expect(data.jobs.map((j) => j.jobId)).toEqual(jobsBefore.map((j) => j.jobId));
    expect(Object.keys(data.targets).sort()).toEqual(['aws', 'gcp']);
    expect(snapshot).not.toHaveProperty('id');
    const views = rest.filter((e) => e.type === 'job').map((e) => e.data as JobView);
    expect(views.every((v) => v.jobId === jobId)).toBe(true);
    const seen = views.map((v) => JSON.stringify([v.status, v.chunksCompleted, v.updatedAt]));
    expect(new Set(seen).size).toBe(seen.length);
    expect(views.at(-1)?.status).toBe('completed');
    const targets = rest.find((e) => e.type === 'targets')?.data as { targets: Record<string, TargetView> };
    expect(targets.targets.gcp?.attempts).toBeGreaterThan(0);
  });
});
