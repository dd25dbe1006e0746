import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

/** Lines of 1 KiB, so that a 1 KiB chunk holds one line: a job of `count` chunks. */
const lines = (count: number, tag: string): string =>
  Array.from({ length: count }, (_, i) => `${tag} ${i} `.padEnd(1023, 'x'))
    .join('\n')
    .concat('\n');

let served: TestServer;
let url: string;

beforeAll(async () => {
  served = await startTestServer('operate', [
    { path: ['workers_per_target'], value: 2, flag: '--workers' },
    // An outage must fail chunks for good, not open the breakers and hold the tries back.
    { path: ['breaker', 'failure_threshold'], value: 1_000_000, flag: 'breaker.failure_threshold' },
  ]);
  url = served.server.url;
});

afterAll(async () => {
  await served?.close();
});

const submit = async (body: string, query: string): Promise<string> => {
  const response = await fetch(`${url}/jobs?chunkSize=1024&${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body,
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
};

const view = async (jobId: string): Promise<JobView> =>
  (await fetch(`${url}/jobs/${jobId}`)).json() as Promise<JobView>;

const tasksOf = async (jobId: string): Promise<TaskRecord[]> =>
  ((await (await fetch(`${url}/jobs/${jobId}/tasks`)).json()) as { tasks: TaskRecord[] }).tasks;

const until = async (
  jobId: string,
  done: (job: JobView) => boolean,
  timeoutMs = 30_000,
): Promise<JobView> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await view(jobId);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${JSON.stringify(job)}`);
    await sleep(20);
  }
};

const FINAL = ['completed', 'completed_with_failures', 'failed', 'cancelled'];

const problemOf = async (response: Response) => ({
  status: response.status,
  type: response.headers.get('content-type'),
  body: (await response.json()) as { type: string; detail: string; jobStatus?: string },
});

describe('DELETE /jobs/{id} in mid-job', () => {
  const CHUNKS = 3000;

  it('starts no try after the cancel, and ends every chunk completed or cancelled, once', {
    timeout: 60_000,
  }, async () => {
    // Prepare
    // Each target takes batches of many tries at once: enough chunks that most still wait at the cancel.
    const jobId = await submit(lines(CHUNKS, 'cancel'), 'pipeline=chaos:delay=2');
    await until(jobId, (job) => job.chunksCompleted >= 20);

    // Act
    const cancel = await fetch(`${url}/jobs/${jobId}`, { method: 'DELETE' });
    const acceptedAt = Date.now();
    const ended = await until(jobId, (job) => job.status === 'cancelled');
    await until(jobId, (job) => job.chunksCompleted + job.chunksCancelled === job.chunksTotal);
    const again = await fetch(`${url}/jobs/${jobId}`, { method: 'DELETE' });
    const result = await fetch(`${url}/jobs/${jobId}/result`);

    // Assess
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as JobView).cancelledAt).toBeDefined();
    const tasks = await tasksOf(jobId);
    const final = await view(jobId);
    const starts = tasks.flatMap((task) => task.attempts.map((attempt) => attempt.startedAt));
    expect(Math.max(...starts)).toBeLessThanOrEqual(acceptedAt);
    // A cancel during ingest stops it: the job's total is what was enqueued by then.
    const total = final.chunksTotal as number;
    expect(total).toBeLessThanOrEqual(CHUNKS);
    expect(tasks.map((task) => task.index)).toEqual(Array.from({ length: total }, (_, i) => i));
    const count = (state: string) => tasks.filter((task) => task.state === state).length;
    expect(count('completed') + count('cancelled')).toBe(total);
    expect(count('cancelled')).toBeGreaterThan(0);
    expect(final).toMatchObject({
      status: 'cancelled',
      chunksTotal: total,
      chunksCompleted: count('completed'),
      chunksCancelled: count('cancelled'),
      chunksFailed: 0,
    });
    expect(final.stats.states).toMatchObject({
      completed: count('completed'),
      cancelled: count('cancelled'),
    });
    expect(final.stats.attempts).toBe(tasks.reduce((sum, task) => sum + task.attempts.length, 0));
    expect(ended.completedAt).not.toBeNull();
    expect(again.status).toBe(202);
    expect(((await again.json()) as JobView).cancelledAt).toBe(final.cancelledAt);
    const refused = await problemOf(result);
    expect(refused).toMatchObject({ status: 409, body: { type: 'urn:fanout:problem:job-cancelled' } });
    expect(refused.body.detail).toContain(`${count('cancelled')} cancelled`);
    // Its cancelled tries no longer count as the targets' load (they once did, for ever).
    const { targets } = (await (await fetch(`${url}/targets`)).json()) as {
      targets: Record<string, { inFlight: number }>;
    };
    expect(Object.values(targets).map((t) => t.inFlight)).toEqual(Object.values(targets).map(() => 0));
  });

  it('cancels a job still reading its input: its total is what was enqueued', {
    timeout: 60_000,
  }, async () => {
    // Prepare
    const jobId = await submit(lines(2000, 'early'), 'pipeline=chaos:delay=50');

    // Act
    const cancel = await fetch(`${url}/jobs/${jobId}`, { method: 'DELETE' });
    const ended = await until(
      jobId,
      (job) => job.status === 'cancelled' && job.chunksCompleted + job.chunksCancelled === job.chunksTotal,
    );

    // Assess
    expect(cancel.status).toBe(202);
    expect(ended.chunksTotal).toBeLessThanOrEqual(2000);
    expect((await tasksOf(jobId)).every((task) => ['completed', 'cancelled'].includes(task.state))).toBe(
      true,
    );
  });
});

describe('POST /jobs/{id}/retry after an outage', () => {
  it('re-runs the failed chunks with a fresh budget after the outage, and the result is whole', {
    timeout: 60_000,
  }, async () => {
    // Prepare: both targets down for the job's first 1.5 s; two tries a chunk fail within that.
    const input = lines(40, 'outage');
    const jobId = await submit(
      input,
      'maxAttempts=2&pipeline=chaos:target=aws:for=1500,chaos:target=gcp:for=1500,transform:uppercase',
    );
    const whileRunning = await fetch(`${url}/jobs/${jobId}/retry`, { method: 'POST' });
    const failed = await until(jobId, (job) => FINAL.includes(job.status));
    const before = await tasksOf(jobId);
    await sleep(Math.max(0, Date.parse(failed.createdAt) + 1600 - Date.now()));

    // Act
    const retry = await fetch(`${url}/jobs/${jobId}/retry`, { method: 'POST' });
    const completed = await until(jobId, (job) => FINAL.includes(job.status) && job.chunksFailed === 0);
    const result = await fetch(`${url}/jobs/${jobId}/result`);

    // Assess
    expect((await problemOf(whileRunning)).body.type).toBe('urn:fanout:problem:job-running');
    expect(failed).toMatchObject({ status: 'failed', chunksFailed: 40, chunksCompleted: 0 });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toEqual({ jobId, chunksRetried: 40, statusUrl: `/jobs/${jobId}` });
    expect(completed).toMatchObject({ status: 'completed', chunksCompleted: 40, chunksFailed: 0 });
    expect(await result.text()).toBe(input.toUpperCase());
    const after = await tasksOf(jobId);
    for (const task of after) {
      const earlier = before[task.index] as TaskRecord;
      expect(task.rerunFrom).toBe(earlier.attempts.length);
      expect(task.attempts.slice(0, earlier.attempts.length)).toEqual(earlier.attempts);
      expect(task.attempts.at(-1)).toMatchObject({
        attempt: earlier.attempts.length + 1,
        outcome: 'completed',
      });
    }
    expect(completed.stats.states).toMatchObject({ completed: 40, failed: 0, retrying: 0 });
  });

  it("combines a calculation's result anew once its re-run chunks complete", {
    timeout: 60_000,
  }, async () => {
    // Prepare: one try a chunk, half of which fail; each re-run rolls again, on the try's number.
    const records = Array.from({ length: 40 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(1000)}"}`);
    const response = await fetch(
      `${url}/jobs?chunkSize=1024&maxAttempts=1&pipeline=chaos:fail=0.5:seed=3,calculate:op=count:field=n`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: `${records.join('\n')}\n`,
      },
    );
    const { jobId } = (await response.json()) as { jobId: string };
    // Its end, failed chunks and all, writes a combined result of the chunks that completed.
    let job = await until(jobId, (j) => FINAL.includes(j.status));
    const failedAtFirst = job.chunksFailed;

    // Act
    for (let reruns = 0; job.chunksFailed > 0 && reruns < 20; reruns++) {
      expect((await fetch(`${url}/jobs/${jobId}/retry`, { method: 'POST' })).status).toBe(202);
      job = await until(jobId, (j) => FINAL.includes(j.status));
    }
    const whole = (await (await fetch(`${url}/jobs/${jobId}/result`)).json()) as { count: number };

    // Assess
    expect(failedAtFirst).toBeGreaterThan(0);
    expect(job.chunksFailed).toBe(0);
    expect(whole.count).toBe(40);
  });

  it('answers a job with nothing to re-run 409, and an unknown job 404', async () => {
    // Prepare
    const jobId = await submit(lines(3, 'fine'), 'pipeline=validate');
    await until(jobId, (job) => job.status === 'completed');

    // Act
    const nothing = await problemOf(await fetch(`${url}/jobs/${jobId}/retry`, { method: 'POST' }));
    const unknownRetry = await problemOf(await fetch(`${url}/jobs/nope/retry`, { method: 'POST' }));
    const unknownCancel = await problemOf(await fetch(`${url}/jobs/nope`, { method: 'DELETE' }));
    const cancelEnded = await fetch(`${url}/jobs/${jobId}`, { method: 'DELETE' });

    // Assess
    expect(nothing).toMatchObject({ status: 409, type: 'application/problem+json' });
    expect(nothing.body).toMatchObject({
      type: 'urn:fanout:problem:nothing-to-retry',
      jobStatus: 'completed',
    });
    expect(unknownRetry).toMatchObject({ status: 404, body: { type: 'urn:fanout:problem:unknown-job' } });
    expect(unknownCancel).toMatchObject({ status: 404, body: { type: 'urn:fanout:problem:unknown-job' } });
    expect(cancelEnded.status).toBe(202);
    expect(await cancelEnded.json()).toMatchObject({ status: 'completed', chunksCancelled: 0 });
    expect((await view(jobId)).cancelledAt).toBeUndefined();
  });
});

describe('GET /jobs', () => {
  it('lists jobs newest first, pages through all of them once, and filters by status', async () => {
    // Prepare
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await submit(lines(2, `list${i}`), 'pipeline=validate'));
    for (const jobId of ids) await until(jobId, (job) => job.status === 'completed');

    // Act
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = (await (await fetch(`${url}/jobs?limit=1${query}`)).json()) as {
        jobs: JobView[];
        nextCursor: string | null;
      };
      seen.push(...page.jobs.map((job) => job.jobId));
      cursor = page.nextCursor;
    } while (cursor !== null);
    const cancelled = (await (await fetch(`${url}/jobs?status=cancelled`)).json()) as { jobs: JobView[] };

    // Assess
    expect(seen.slice(0, 4)).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    expect(cancelled.jobs.length).toBeGreaterThan(0);
    expect(cancelled.jobs.every((job) => job.status === 'cancelled')).toBe(true);
  });

  it.each([
    ['limit=0', /limit must be a whole number from 1 to 1000/],
    ['limit=1001', /limit must be a whole number from 1 to 1000/],
    ['limit=ten', /limit must be a whole number/],
    ['cursor=forged', /cursor is not one this API handed out/],
    [`cursor=${Buffer.from('[1,2]').toString('base64url')}`, /cursor is not one this API handed out/],
    ['status=finished', /status must be one of/],
  ])('answers %s with 400 naming it', async (query, detail) => {
    // Act
    const response = await problemOf(await fetch(`${url}/jobs?${query}`));

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(detail);
  });
});

describe('Idempotency-Key posted twice at once', () => {
  it('starts one job', async () => {
    // Prepare
    const key = `"${crypto.randomUUID()}"`;
    const post = () =>
      fetch(`${url}/jobs?chunkSize=1024&pipeline=validate`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'idempotency-key': key },
        body: lines(5, 'twice'),
      });

    // Act
    const answers = await Promise.all([post(), post()]);
    const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as { jobId: string }[];

    // Assess
    expect(answers.every((answer) => answer.status === 202 || answer.status === 200)).toBe(true);
    expect(bodies[0]?.jobId).toBe(bodies[1]?.jobId);
  });
});
