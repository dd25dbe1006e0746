import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { JobsApi, type JobsApiOptions } from '../../src/api/jobs-api.ts';
import { toHttpApiResult } from '../../src/api/lambda-http.ts';
import { CloudJobs } from '../../src/cloud/cloud-jobs.ts';
import { IngestSteps } from '../../src/cloud/ingest-steps.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { Router } from '../../src/cloud/router.ts';
import { TargetHealth } from '../../src/cloud/target-health.ts';
import { loadConfig } from '../../src/config/load.ts';
import { JobStatus } from '../../src/core/constants.ts';
import type { TaskStore } from '../../src/ports/task-store.ts';
import type { ApiRequest, ApiResponse } from '../../src/util/http.ts';
import {
  type CloudRig,
  cloudRig,
  MemoryStats,
  runIngestSteps,
  runQueues,
  TARGETS,
} from '../support/cloud.ts';
import { LIST_COSTING } from '../support/costing.ts';
import { everyLane } from '../support/lanes.ts';

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
  const router = overrides.router?.(rig) ?? rig.router;
  const tasks = overrides.tasks ?? rig.tasks;
  rig.ingestSteps = new IngestSteps({ tasks, inputs: rig.bodies, router, steps: rig.steps });
  const service = new CloudJobs({
    registry: rig.registry,
    tasks,
    inputs: rig.bodies,
    segments: rig.inputs,
    results: rig.results,
    router,
    ingestSteps: rig.ingestSteps,
    idempotency: rig.idempotency,
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
    new Map(TARGETS.map((target) => [target, everyLane(new RefusingQueue())])),
    new TargetHealth(rig.balancer, { store: rig.health }),
    LIST_COSTING,
  );

const request = (
  method: string,
  path: string,
  {
    body,
    type = 'text/plain',
    query = '',
    key,
  }: { body?: string | Uint8Array; type?: string; query?: string; key?: string } = {},
): ApiRequest => ({
  method,
  path,
  query: new URLSearchParams(query),
  headers: { 'content-type': type, ...(key !== undefined && { 'idempotency-key': key }) },
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

/** Ingests, runs the queues dry and counts every task's transitions, as the stats function would. */
const processAll = async ({ rig, stats }: Subject, jobId: string): Promise<void> => {
  await runIngestSteps(rig);
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

describe('the dashboard routes on the cloud', () => {
  it('answers GET /events with 501 events-not-streamed: a function answers whole responses', async () => {
    // Prepare
    const { api } = subject();

    // Act
    const response = await get(api, '/events');

    // Assess
    expect(expectProblem(response, 501, 'events-not-streamed').detail).toMatch(
      /poll GET \/jobs and GET \/targets/,
    );
  });

  it('answers GET /targets with each target’s shared breaker and its changes, without work in flight', async () => {
    // Prepare
    const { api, rig } = subject();
    await openEveryBreaker(rig);

    // Act
    const response = await get(api, '/targets');

    // Assess
    const { targets } = jsonOf<{ targets: Record<string, Record<string, unknown>> }>(response);
    expect(Object.keys(targets).sort()).toEqual([...TARGETS].sort());
    for (const target of Object.values(targets)) {
      expect(target).toMatchObject({ breaker: 'open', breakerOpened: 1, attempts: 0, successRate: 0 });
      expect(target.changes).toEqual([{ at: expect.any(String), from: 'closed', to: 'open' }]);
      expect(target).not.toHaveProperty('inFlight');
    }
  });
});

describe('POST /jobs', () => {
  it('accepts a body with 202, ingesting, and a Location, before any chunk is sent', async () => {
    // Prepare
    const { api, rig } = subject();

    // Act
    const response = await api.handle(request('POST', '/jobs', { body: LINES, query: 'chunkSize=1024' }));
    const accepted = jsonOf<{ jobId: string; status: string; chunksTotal: null; statusUrl: string }>(
      response,
    );
    const sentAtOnce = (await rig.queues.aws.depth()) + (await rig.queues.gcp.depth());
    await runIngestSteps(rig);

    // Assess
    expect(response.status).toBe(202);
    expect(response.headers.location).toBe(accepted.statusUrl);
    expect(accepted).toMatchObject({ status: JobStatus.ingesting, chunksTotal: null });
    expect(sentAtOnce).toBe(0);
    expect((await rig.queues.aws.depth()) + (await rig.queues.gcp.depth())).toBe(3);
    expect(jsonOf(await get(api, accepted.statusUrl))).toMatchObject({
      status: JobStatus.queued,
      chunksTotal: 3,
    });
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

  it('accepts a job whose chunks every queue then refuses, and the job says it failed', async () => {
    // Prepare
    const { api, rig } = subject({ router: refusingRouter });

    // Act
    const response = await api.handle(request('POST', '/jobs', { body: LINES }));
    const { jobId } = jsonOf<{ jobId: string }>(response);
    await runIngestSteps(rig);
    const job = jsonOf<{ status: string; error: string }>(await get(api, `/jobs/${jobId}`));
    const result = await get(api, `/jobs/${jobId}/result`);

    // Assess
    expect(response.status).toBe(202);
    expect(job.status).toBe(JobStatus.failed);
    expect(job.error).toMatch(/after 0 chunks were sent: target aws, gcp is unavailable: .*does not exist/);
    expect(expectProblem(result, 409, 'job-failed').detail).toMatch(/failed, so it has no result/);
  });
});

describe('POST /jobs with an Idempotency-Key', () => {
  it('gives a repeat of the same request the same job, with 200 and its view', async () => {
    // Prepare
    const { api, rig } = subject();
    const first = await api.handle(
      request('POST', '/jobs', { body: LINES, query: 'chunkSize=1024&maxAttempts=2', key: '"k-1"' }),
    );

    // Act
    const repeat = await api.handle(
      request('POST', '/jobs', { body: LINES, query: 'maxAttempts=2&chunkSize=1024', key: '"k-1"' }),
    );

    // Assess
    const { jobId } = jsonOf<{ jobId: string }>(first);
    expect(first.status).toBe(202);
    expect(repeat.status).toBe(200);
    expect(repeat.headers.location).toBe(`/jobs/${jobId}`);
    expect(jsonOf(repeat)).toMatchObject({ jobId, status: JobStatus.ingesting });
    expect(await rig.tasks.listActiveJobs()).toHaveLength(1);
  });

  it.each([
    ['another body', { body: LINES.toUpperCase() }],
    ['another query', { body: LINES, query: 'chunkSize=2048' }],
    ['another media type', { body: LINES, type: 'application/x-ndjson' }],
  ])('answers the same key with %s with 422, and starts no job', async (_, other) => {
    // Prepare
    const { api, rig } = subject();
    await api.handle(request('POST', '/jobs', { body: LINES, key: 'k-2' }));

    // Act
    const response = await api.handle(request('POST', '/jobs', { ...other, key: 'k-2' }));

    // Assess
    expect(expectProblem(response, 422, 'idempotency-key-reused').detail).toMatch(
      /"k-2" was first sent with another request/,
    );
    expect(await rig.tasks.listActiveJobs()).toHaveLength(1);
  });

  it('answers 409 while the first request with the key still stores its input, then the job', async () => {
    // Prepare
    const { api, rig } = subject();
    const stored = Promise.withResolvers<void>();
    const storeBody = rig.bodies.storeBody.bind(rig.bodies);
    rig.bodies.storeBody = async (jobId, body) => {
      await stored.promise;
      return storeBody(jobId, body);
    };
    const first = api.handle(request('POST', '/jobs', { body: LINES, key: 'k-3' }));
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Act
    const during = await api.handle(request('POST', '/jobs', { body: LINES, key: 'k-3' }));
    stored.resolve();
    const { jobId } = jsonOf<{ jobId: string }>(await first);
    const after = await api.handle(request('POST', '/jobs', { body: LINES, key: 'k-3' }));

    // Assess
    expect(expectProblem(during, 409, 'idempotency-key-in-use').detail).toMatch(/still storing its input/);
    expect(Number(during.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(after.status).toBe(200);
    expect(jsonOf(after)).toMatchObject({ jobId });
  });

  it('frees the key of a request that failed, so that a retry with it starts the job', async () => {
    // Prepare
    const { api, rig } = subject();
    const storeBody = rig.bodies.storeBody.bind(rig.bodies);
    rig.bodies.storeBody = () => Promise.reject(new Error('bucket unreachable'));
    const failed = api.handle(request('POST', '/jobs', { body: LINES, key: 'k-4' }));
    await expect(failed).rejects.toThrow(/bucket unreachable/);
    rig.bodies.storeBody = storeBody;

    // Act
    const retried = await api.handle(request('POST', '/jobs', { body: LINES, key: 'k-4' }));

    // Assess
    expect(retried.status).toBe(202);
  });

  it.each([
    ['an empty key', '""'],
    ['an unterminated quote', '"abc'],
    ['a control character', '"a\u0001b"'],
    ['a bare key with a space', 'a b'],
    ['a key too long', `"${'k'.repeat(256)}"`],
    ['a list of keys', '"a", "b"'],
  ])('answers %s with 400, and starts no job', async (_, key) => {
    // Prepare
    const { api, rig } = subject();

    // Act
    const response = await api.handle(request('POST', '/jobs', { body: LINES, key }));

    // Assess
    expect(expectProblem(response, 400, 'bad-request').detail).toMatch(/Idempotency-Key must be/);
    expect(await rig.tasks.listActiveJobs()).toEqual([]);
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

  it("runs the worker's sum message as a one-record job whose result is the sum", async () => {
    // Prepare
    const s = subject();
    const message = {
      id: 'job-123',
      type: 'calculate',
      payload: { operation: 'sum', numbers: [1, 2, 3, 4] },
    };

    // Act
    const accepted = await s.api.handle(
      request('POST', '/jobs', { body: JSON.stringify(message), type: 'application/json' }),
    );
    const { jobId } = jsonOf<{ jobId: string }>(accepted);
    await processAll(s, jobId);
    const result = await get(s.api, `/jobs/${jobId}/result`);

    // Assess
    expect(accepted.status).toBe(202);
    expect(result.headers['content-type']).toBe('application/json');
    expect(JSON.parse(await text(result))).toEqual({
      op: 'sum',
      field: 'numbers',
      count: 4,
      skipped: 0,
      sum: 10,
    });
  });

  it("answers 409 for a running job's rejects, then the records its checks took out", async () => {
    // Prepare
    const s = subject();
    const body = '{"email":"a@b.co"}\n{"email":"nope"}\n';
    const accepted = await s.api.handle(
      request('POST', '/jobs', {
        body,
        type: 'application/x-ndjson',
        query: 'pipeline=check:email:field=email',
      }),
    );
    const { jobId } = jsonOf<{ jobId: string }>(accepted);

    // Act
    const early = await get(s.api, `/jobs/${jobId}/rejects`);
    await processAll(s, jobId);
    const rejects = await get(s.api, `/jobs/${jobId}/rejects`);
    const unknown = await get(s.api, '/jobs/no-such-job/rejects');

    // Assess
    expectProblem(early, 409, 'job-running');
    expect(rejects.headers['content-type']).toBe('application/x-ndjson');
    expect(JSON.parse(await text(rejects))).toEqual({
      line: 2,
      field: 'email',
      rule: 'email',
      value: 'nope',
      reason: 'not an email address',
    });
    expect(unknown.status).toBe(404);
  });

  it('answers 422 for a calculation whose partials cannot be combined: more groups than it keeps', async () => {
    // Prepare: each chunk holds fewer than 10,000 groups, the job more.
    const s = subject();
    const body = Array.from({ length: 10_001 }, (_, i) => `{"g":"k${i}","v":1}\n`).join('');
    const accepted = await s.api.handle(
      request('POST', '/jobs', {
        body,
        type: 'application/x-ndjson',
        query: 'chunkSize=65536&pipeline=calculate:op=sum:field=v:by=g',
      }),
    );
    const { jobId } = jsonOf<{ jobId: string }>(accepted);
    await processAll(s, jobId);

    // Act
    const result = await get(s.api, `/jobs/${jobId}/result`);

    // Assess
    expect(jsonOf<{ status: string }>(await get(s.api, `/jobs/${jobId}`)).status).toBe(JobStatus.completed);
    expect(expectProblem(result, 422, 'result-not-combined').detail).toContain(
      'more than 10000 distinct values of by=g',
    );
  });

  it.each([
    ['not json', 'the body is not JSON'],
    [JSON.stringify({ type: 'sum', payload: { numbers: 'x' } }), 'payload.numbers'],
    [JSON.stringify({ type: 'sum', payload: {}, extra: 1 }), 'worker message'],
    [JSON.stringify({ type: 'teleport', payload: {} }), 'unknown message type "teleport"'],
    [JSON.stringify({ source: 42 }), 'body source'],
  ])('answers the JSON body %s with 400 naming what is wrong, and records no job', async (body, named) => {
    // Prepare
    const s = subject();

    // Act
    const response = await s.api.handle(request('POST', '/jobs', { body, type: 'application/json' }));

    // Assess
    expect(response.status).toBe(400);
    expect(jsonOf<{ detail: string }>(response).detail).toContain(named);
    expect(await s.rig.tasks.listJobs({ limit: 10 })).toEqual([]);
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
