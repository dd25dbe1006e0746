import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskState } from '../../src/core/constants.ts';
import type { JobView } from '../../src/core/job.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { chaosJob, waitFor } from '../support/e2e.ts';
import { type EmulatorRig, startEmulatorRig } from '../support/emulator-rig.ts';
import { count, jobOps } from '../support/job-ops.ts';

const CHUNK_SIZE = 1024;
const { input } = chaosJob(7, 0, CHUNK_SIZE);

const prefix = `ops-${randomUUID().slice(0, 8)}`;
const resources = defineResources({ prefix, processorTimeoutSeconds: 30 });
const gcp = defineGcpResources({ prefix, processorTimeoutSeconds: 30 });

let rig: EmulatorRig;

beforeAll(async () => {
  rig = await startEmulatorRig({
    resources,
    gcp,
    env: {
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      FANOUT_RECONCILE_INTERVAL_MS: '1000',
      // A chunk nothing claimed within 10 s is sent again, for its processor to cancel it.
      FANOUT_RECONCILE_STRANDED_AFTER_MS: '10000',
    },
  });
}, 60_000);

afterAll(async () => {
  await rig?.stop();
});

const { call, view, tasksOf, settled } = jobOps(() => rig);

describe('cancel in mid-job (emulator mode, both clouds)', () => {
  const CHUNKS = 300;
  let jobId: string;
  let answeredAt: number;

  it('starts no try after the cancel, and ends every chunk completed or cancelled, once', async () => {
    // Prepare
    const startedAt = Date.now();
    jobId = await rig.submit(
      `pipeline=validate,chaos:delay=100,transform:uppercase&chunkSize=${CHUNK_SIZE}&strategy=round_robin&targets=aws,gcp`,
      input(CHUNKS),
    );
    await waitFor(
      async () => (count(await tasksOf(jobId), TaskState.completed) >= 20 ? true : undefined),
      60_000,
    );

    // Act
    const cancel = await call('DELETE', `/jobs/${jobId}`);
    answeredAt = Date.now();
    const { job, tasks } = await settled(jobId, (s) => s === 'cancelled', [
      TaskState.completed,
      TaskState.cancelled,
    ]);

    // Assess
    const tries = tasks.flatMap((t) => t.attempts);
    console.info(
      `cancel: ${job.chunksCompleted} completed, ${job.chunksCancelled} cancelled of ${CHUNKS}; ` +
        `cancelled ${answeredAt - startedAt} ms after submit, settled ${Date.now() - answeredAt} ms after, ` +
        `last task written ${Math.max(...tasks.map((t) => t.updatedAt)) - answeredAt} ms after; ` +
        `${tries.filter((a) => (a.endedAt ?? 0) > answeredAt).length} tries of batches taken before it ended after it`,
    );
    expect(cancel.status).toBe(202);
    expect(tasks.map((t) => t.index)).toEqual(Array.from({ length: CHUNKS }, (_, i) => i));
    expect(tries.filter((a) => a.startedAt > answeredAt)).toEqual([]);
    expect(tries.filter((a) => a.startedAt >= Date.parse(job.cancelledAt as string))).toEqual([]);
    for (const task of tasks.filter((t) => t.state === TaskState.completed))
      expect(task.attempts.map((a) => a.outcome)).toEqual([TaskState.completed]);
    for (const task of tasks.filter((t) => t.state === TaskState.cancelled))
      expect(task.attempts.every((a) => a.outcome !== undefined)).toBe(true);
    expect(job.chunksCompleted).toBeGreaterThanOrEqual(20);
    expect(job.chunksCancelled).toBeGreaterThan(0);
    expect(job.chunksCompleted + job.chunksCancelled).toBe(job.chunksTotal);
    expect(job.stats.states).toMatchObject({
      completed: count(tasks, TaskState.completed),
      cancelled: count(tasks, TaskState.cancelled),
      failed: 0,
      pending: 0,
      processing: 0,
      retrying: 0,
    });
  }, 240_000);

  it('answers its result 409 job-cancelled, and a second DELETE 202 changing nothing', async () => {
    // Prepare
    const before = { job: await view(jobId), tasks: await tasksOf(jobId) };

    // Act
    const result = await call('GET', `/jobs/${jobId}/result`);
    const again = await call('DELETE', `/jobs/${jobId}`);
    const after = { job: await view(jobId), tasks: await tasksOf(jobId) };

    // Assess
    expect(result.status).toBe(409);
    expect(result.body.type).toMatch(/job-cancelled$/);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(before.job);
    expect(after).toEqual(before);
  });
});

describe('Idempotency-Key on the cloud path', () => {
  /** POSTs a job with the key, sending it again while the first request with the key still stores its input. */
  const post = async (key: string, body: Buffer) => {
    for (;;) {
      const answer = await call('POST', `/jobs?pipeline=validate&chunkSize=${CHUNK_SIZE}&targets=aws`, {
        headers: { 'content-type': 'text/plain', 'idempotency-key': `"${key}"` },
        body,
      });
      if (answer.status !== 409) return answer;
      await sleep(1000);
    }
  };

  it('makes one job of the same key posted twice at once; the key with another body is 422', async () => {
    // Prepare
    const key = randomUUID();
    const before = (await rig.getJson<{ jobs: JobView[] }>('/jobs?limit=1000')).jobs;

    // Act
    const answers = await Promise.all([post(key, input(3)), post(key, input(3))]);
    const reused = await post(key, input(4));
    const after = (await rig.getJson<{ jobs: JobView[] }>('/jobs?limit=1000')).jobs;

    // Assess
    const [first, second] = answers.map((a) => a.body.jobId as string);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 202]);
    expect(second).toBe(first);
    expect(after.length).toBe(before.length + 1);
    expect(after.filter((job) => job.jobId === first)).toHaveLength(1);
    expect(reused.status).toBe(422);
    expect(reused.body.type).toMatch(/idempotency-key-reused$/);
  }, 60_000);
});

describe('GET /jobs (emulator mode)', () => {
  it('lists every job newest first, and pages through them all with limit=1', async () => {
    // Prepare
    const all = await rig.getJson<{ jobs: JobView[]; nextCursor: string | null }>('/jobs?limit=1000');

    // Act
    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { jobs: JobView[]; nextCursor: string | null } = await rig.getJson(
        `/jobs?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      paged.push(...page.jobs.map((job) => job.jobId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages <= all.jobs.length + 1);

    // Assess
    const created = all.jobs.map((job) => Date.parse(job.createdAt));
    expect(all.jobs.length).toBeGreaterThanOrEqual(2);
    expect(all.nextCursor).toBeNull();
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(paged).toEqual(all.jobs.map((job) => job.jobId));
    expect(pages).toBe(all.jobs.length);
  });

  it('filters by status, and answers 400 to limit=0, limit=1001 and a forged cursor', async () => {
    // Prepare
    const all = (await rig.getJson<{ jobs: JobView[] }>('/jobs?limit=1000')).jobs;
    const forged = Buffer.from(JSON.stringify({ after: 'x' })).toString('base64url');

    // Act
    const cancelled = (await rig.getJson<{ jobs: JobView[] }>('/jobs?status=cancelled')).jobs;
    const refused = await Promise.all(
      ['limit=0', 'limit=1001', `cursor=${forged}`, 'cursor=not-a-cursor', 'status=lost'].map((q) =>
        call('GET', `/jobs?${q}`),
      ),
    );

    // Assess
    expect(cancelled.length).toBeGreaterThan(0);
    expect(cancelled.map((job) => job.jobId)).toEqual(
      all.filter((job) => job.status === 'cancelled').map((job) => job.jobId),
    );
    for (const answer of refused) expect(answer.status).toBe(400);
  });
});
