import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { JobsApi, type JobsApiOptions } from '../../src/api/jobs-api.ts';
import { toHttpApiResult } from '../../src/api/lambda-http.ts';
import { CloudJobs } from '../../src/cloud/cloud-jobs.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { Router } from '../../src/cloud/router.ts';
import { TargetHealth } from '../../src/cloud/target-health.ts';
import { loadConfig } from '../../src/config/load.ts';
import { JobStatus } from '../../src/core/constants.ts';
import type { TaskStore } from '../../src/ports/task-store.ts';
import type { ApiRequest, ApiResponse } from '../../src/util/http.ts';
import { type CloudRig, cloudRig, MemoryStats, runQueues, TARGETS } from '../support/cloud.ts';

const MiB = 1024 * 1024;
const LINES = Array.from({ length: 40 }, (_, i) => `${`line ${i}`.padEnd(63, '.')}\n`).join('');
const CONFIG = loadConfig({ env: {}, cwd: '/nonexistent' });

/** A queue that refuses every send, as SQS does once the queue is deleted. */
class RefusingQueue extends MemoryQueue<ChunkMessage> {
  override async send(): Promise<void> {
    throw new Error('The specified queue does not exist.');
  }
}

/** A task store whose table cannot be reached. */
class UnreachableTaskStore extends MemoryTaskStore {
  override async getJob(): Promise<never> {
    throw new Error('connect ECONNREFUSED 127.0.0.1:4566');
  }
}

/** A task store whose table never answers. */
class SilentTaskStore extends MemoryTaskStore {
  override getJob(): Promise<never> {
    return new Promise(() => {});
  }
}

interface Subject {
  api: JobsApi;
  rig: CloudRig;
  stats: MemoryStats;
}

/**
 * The cloud's JobService on the real in-memory adapters (task store, queues, result stores, shared
 * breakers), behind the API; `router` and `tasks` stand in for the rig's own when given.
 */
const subject = (
  overrides: {
    router?: (rig: CloudRig) => Router;
    tasks?: TaskStore;
    options?: Partial<JobsApiOptions>;
  } = {},
): Subject => {
  const rig = cloudRig();
  const stats = new MemoryStats();
  const service = new CloudJobs({
    registry: rig.registry,
    tasks: overrides.tasks ?? rig.tasks,
    inputs: rig.inputs,
    results: rig.results,
    router: overrides.router?.(rig) ?? rig.router,
    stats,
    outputsAt: (jobId) => `s3://fanout-data/results/${jobId}/`,
  });
  const api = new JobsApi(service, CONFIG, {
    maxBodyBytes: 8 * MiB,
    maxIngestingJobs: 4,
    metrics: { elsewhere: 'the cloud keeps its metrics in CloudWatch, namespace Fanout' },
    ...overrides.options,
  });
  return { api, rig, stats };
};

/** A router over queues that refuse every send, with breakers of its own. */
const refusingRouter = (rig: CloudRig): Router =>
  new Router(
    rig.balancer,
    new Map(TARGETS.map((target) => [target, new RefusingQueue()])),
    new TargetHealth(rig.balancer, { store: rig.health }),
  );

const request = (
  method: string,
  path: string,
  {
    body,
    type = 'text/plain',
    query = '',
  }: { body?: string | Uint8Array; type?: string; query?: string } = {},
): ApiRequest => ({
  method,
  path,
  query: new URLSearchParams(query),
  headers: { 'content-type': type },
  body: (async function* () {
    if (body !== undefined) yield typeof body === 'string' ? Buffer.from(body) : body;
  })(),
});

const get = (api: JobsApi, path: string): Promise<ApiResponse> => api.handle(request('GET', path));

const jsonOf = <T = Record<string, unknown>>(response: ApiResponse): T =>
  JSON.parse(response.body as string) as T;

const text = async (response: ApiResponse): Promise<string> => {
  const parts: Uint8Array[] = [];
  for await (const part of response.body as AsyncIterable<Uint8Array>) parts.push(part);
  return Buffer.concat(parts).toString();
};

const expectProblem = (response: ApiResponse, status: number, slug: string): Record<string, unknown> => {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/problem+json');
  const problem = jsonOf(response);
  expect(problem).toMatchObject({ type: `urn:fanout:problem:${slug}`, status, title: expect.any(String) });
  return problem;
};

/** Opens every target's breaker as processors do: by reporting ten failed tries on each. */
const openEveryBreaker = async (rig: CloudRig): Promise<void> => {
  const failures = Array.from({ length: 10 }, () => ({ outcome: 'failure' as const, sentAt: Date.now() }));
  for (const target of TARGETS) await rig.router.record(target, failures);
};

/** Runs the queues dry and counts every task's transitions, as the stats function would. */
const processAll = async ({ rig, stats }: Subject, jobId: string): Promise<void> => {
  await runQueues(rig);
  for (const task of await rig.tasks.listTasks(jobId)) stats.record(task);
};

describe('JobsApi routing', () => {
  it('answers an unknown path with 404 naming it', async () => {
    // Prepare
    const { api } = subject();

    // Act
    const response = await get(api, '/widgets');

    // Assess
    expect(expectProblem(response, 404, 'not-found').detail).toBe('no resource at /widgets');
  });

  it('answers a method a resource does not take with 405 and Allow', async () => {
    // Prepare
    const { api } = subject();

    // Act
    const response = await api.handle(request('DELETE', '/health/ready'));

    // Assess
    expectProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('GET');
  });

  it('answers a job id with malformed percent-encoding with 400', async () => {
    // Prepare
    const { api } = subject();

    // Act
    const response = await get(api, '/jobs/%E0%A4%A');

    // Assess
    expect(expectProblem(response, 400, 'bad-request').detail).toMatch(/not valid percent-encoding/);
  });
});

describe('POST /jobs', () => {
  it('accepts a body with 202 and a Location, and sends every chunk to a queue', async () => {
    // Prepare
    const { api, rig } = subject();

    // Act
    const response = await api.handle(request('POST', '/jobs', { body: LINES, query: 'chunkSize=1024' }));

    // Assess
    expect(response.status).toBe(202);
    const accepted = jsonOf<{ jobId: string; chunksTotal: number; statusUrl: string }>(response);
    expect(response.headers.location).toBe(accepted.statusUrl);
    expect(accepted.chunksTotal).toBe(3);
    expect((await rig.queues.aws.depth()) + (await rig.queues.gcp.depth())).toBe(3);
  });

  it.each([
    ['an empty body', { body: '' }, 400, 'empty-body', /body is empty/],
    ['an unknown step', { body: LINES, query: 'pipeline=shout' }, 400, 'bad-request', /shout/],
    ['an unknown target', { body: LINES, query: 'targets=azure' }, 400, 'bad-request', /azure/],
    ['an unsupported type', { body: '<x/>', type: 'application/xml' }, 415, 'unsupported-media-type', /xml/],
  ])('answers %s with a problem naming it, and sends nothing', async (_, req, status, slug, detail) => {
    // Prepare
    const { api, rig } = subject();

    // Act
    const response = await api.handle(request('POST', '/jobs', req));

    // Assess
    expect(expectProblem(response, status, slug).detail).toMatch(detail);
    expect(rig.inputs.puts).toEqual([]);
  });

  it('turns a job away with 503 busy and Retry-After while too many jobs read their input', async () => {
    // Prepare
    const { api } = subject({ options: { maxIngestingJobs: 0 } });

    // Act
    const response = await api.handle(request('POST', '/jobs', { body: LINES }));

    // Assess
    expectProblem(response, 503, 'busy');
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 with Retry-After when every breaker is open, and records no job', async () => {
    // Prepare
    const { api, rig } = subject();
    await openEveryBreaker(rig);

    // Act
    const response = await api.handle(request('POST', '/jobs', { body: LINES }));

    // Assess
    const problem = expectProblem(response, 503, 'no-target-available');
    expect(problem.detail).toMatch(
      /no target of aws, gcp takes work now: every breaker is open; no job was recorded/,
    );
    expect(problem).not.toHaveProperty('jobId');
    // The breakers opened a moment ago, and let a probe through after the reset timeout of 2 s.
    expect(response.headers['retry-after']).toBe('2');
    expect(rig.inputs.puts).toEqual([]);
  });

  it('answers 503 naming the job when every queue refuses its chunks, and the job says it failed', async () => {
    // Prepare
    const { api } = subject({ router: refusingRouter });

    // Act
    const response = await api.handle(request('POST', '/jobs', { body: LINES }));
    const problem = expectProblem(response, 503, 'no-target-available');
    const job = jsonOf<{ status: string; error: string }>(await get(api, `/jobs/${problem.jobId}`));
    const result = await get(api, `/jobs/${problem.jobId}/result`);

    // Assess
    expect(problem).toMatchObject({ jobId: expect.any(String), statusUrl: `/jobs/${problem.jobId}` });
    expect(problem.detail).toMatch(/the job is marked failed/);
    expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(job.status).toBe(JobStatus.failed);
    expect(job.error).toMatch(/after 0 chunks were sent: target aws, gcp is unavailable: .*does not exist/);
    expect(expectProblem(result, 409, 'job-failed').detail).toMatch(/failed, so it has no result/);
  });
});

describe('GET /jobs/{id} and its result', () => {
  it('answers an unknown job with 404', async () => {
    // Prepare
    const { api } = subject();

    // Act
    const response = await get(api, '/jobs/nope');

    // Assess
    expect(expectProblem(response, 404, 'unknown-job').detail).toBe('there is no job nope');
  });

  it('answers 409 for the result of a job still running, then the result once it completed', async () => {
    // Prepare
    const s = subject();
    const accepted = await s.api.handle(
      request('POST', '/jobs', { body: LINES, query: 'chunkSize=1024&pipeline=transform:uppercase' }),
    );
    const { jobId } = jsonOf<{ jobId: string }>(accepted);

    // Act
    const early = await get(s.api, `/jobs/${jobId}/result`);
    await processAll(s, jobId);
    const view = jsonOf<{ status: string }>(await get(s.api, `/jobs/${jobId}`));
    const result = await get(s.api, `/jobs/${jobId}/result`);

    // Assess
    expectProblem(early, 409, 'job-running');
    expect(view.status).toBe(JobStatus.completed);
    expect(result.headers['content-type']).toBe('text/plain');
    expect(await text(result)).toBe(LINES.toUpperCase());
  });

  it('answers a result too large for a function with 501 naming the job and where its outputs lie', async () => {
    // Prepare
    const s = subject();
    const accepted = await s.api.handle(
      request('POST', '/jobs', {
        body: randomBytes(5 * MiB),
        type: 'application/octet-stream',
        query: 'chunking=bytes&chunkSize=1048576&pipeline=compress:gzip:level=1',
      }),
    );
    const { jobId } = jsonOf<{ jobId: string }>(accepted);
    await processAll(s, jobId);

    // Act
    const result = await toHttpApiResult(await get(s.api, `/jobs/${jobId}/result`));

    // Assess
    expect(result.statusCode).toBe(501);
    expect(JSON.parse(result.body as string).detail).toContain(
      `job ${jobId}'s chunk outputs lie under s3://fanout-data/results/${jobId}/`,
    );
  });

  it('answers an unknown task state with 400 naming the known ones', async () => {
    // Prepare
    const { api } = subject();
    const { jobId } = jsonOf<{ jobId: string }>(await api.handle(request('POST', '/jobs', { body: LINES })));

    // Act
    const response = await api.handle({
      ...request('GET', `/jobs/${jobId}/tasks`),
      query: new URLSearchParams('status=bogus'),
    });

    // Assess
    expect(expectProblem(response, 400, 'bad-request').detail).toMatch(/status must be one of pending,/);
  });
});

describe('GET /health/live and /health/ready', () => {
  it.each(['/health/live', '/health'])('answers %s with 200 whatever the stores say', async (path) => {
    // Prepare
    const { api } = subject({ tasks: new UnreachableTaskStore() });

    // Act
    const response = await get(api, path);

    // Assess
    expect(response.status).toBe(200);
    expect(jsonOf(response)).toEqual({ status: 'ok' });
  });

  it('answers ready with every store and each target’s queue and breaker', async () => {
    // Prepare
    const { api } = subject();

    // Act
    const response = await get(api, '/health/ready');

    // Assess
    expect(response.status).toBe(200);
    const target = { queue: { ok: true }, breaker: 'closed', accepting: true };
    expect(jsonOf(response)).toEqual({
      status: 'ready',
      stores: { tasks: { ok: true }, inputs: { ok: true }, results: { ok: true } },
      targets: { aws: target, gcp: target },
    });
  });

  it('answers 503 naming the task store when it cannot be reached', async () => {
    // Prepare
    const { api } = subject({ tasks: new UnreachableTaskStore() });

    // Act
    const response = await get(api, '/health/ready');

    // Assess
    const problem = expectProblem(response, 503, 'not-ready');
    expect(problem.detail).toBe('not ready: store tasks: connect ECONNREFUSED 127.0.0.1:4566');
    expect(problem.stores).toMatchObject({ tasks: { ok: false }, results: { ok: true } });
  });

  it('answers 503 within the probe timeout when a store never answers', { timeout: 10_000 }, async () => {
    // Prepare
    const { api } = subject({ tasks: new SilentTaskStore() });

    // Act
    const response = await get(api, '/health/ready');

    // Assess
    expect(expectProblem(response, 503, 'not-ready').detail).toBe(
      'not ready: store tasks: no answer within 3000 ms',
    );
  });

  it('answers 503 naming each target when every breaker is open', async () => {
    // Prepare
    const { api, rig } = subject();
    await openEveryBreaker(rig);

    // Act
    const response = await get(api, '/health/ready');

    // Assess
    const problem = expectProblem(response, 503, 'not-ready');
    expect(problem.detail).toBe('not ready: target aws: breaker open; target gcp: breaker open');
  });

  it('stays ready while one target takes work, and says which one does not', async () => {
    // Prepare
    const { api, rig } = subject();
    await rig.router.record(
      'gcp',
      Array.from({ length: 10 }, () => ({ outcome: 'failure', sentAt: Date.now() })),
    );

    // Act
    const response = await get(api, '/health/ready');

    // Assess
    expect(response.status).toBe(200);
    expect(jsonOf<{ targets: Record<string, unknown> }>(response).targets.gcp).toEqual({
      queue: { ok: true },
      breaker: 'open',
      accepting: false,
    });
  });
});

describe('GET /stats and /metrics', () => {
  it('answers /stats with each target’s shared breaker, and no load a function cannot see', async () => {
    // Prepare
    const { api, rig } = subject();
    await openEveryBreaker(rig);

    // Act
    const stats = jsonOf<{ targets: Record<string, Record<string, unknown>> }>(await get(api, '/stats'));

    // Assess
    expect(stats.targets.aws).toMatchObject({ breaker: 'open', breakerOpened: 1 });
    expect(stats.targets.aws).not.toHaveProperty('inFlight');
    expect(stats.targets.aws).not.toHaveProperty('load');
  });

  it('answers /metrics with 404 saying where the metrics are, when it serves none', async () => {
    // Prepare
    const { api } = subject();

    // Act
    const response = await get(api, '/metrics');

    // Assess
    expect(expectProblem(response, 404, 'metrics-elsewhere').detail).toMatch(/CloudWatch, namespace Fanout/);
  });

  it('serves the metrics it is given', async () => {
    // Prepare
    const { api } = subject({
      options: { metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }) },
    });

    // Act
    const response = await get(api, '/metrics');

    // Assess
    expect(response).toEqual({
      status: 200,
      headers: { 'content-type': 'text/plain; version=0.0.4' },
      body: 'up 1\n',
    });
  });
});
