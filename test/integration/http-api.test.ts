import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { Engine } from '../../src/engine/engine.ts';
import type { LocalServer } from '../../src/server/local-server.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

const MAX_BODY_BYTES = 4096;
/** Lines of 32 bytes cut into chunks of 1024 bytes: 32 lines a chunk. */
const CHUNK_SIZE = 1024;
const fixedLines = (count: number, line: (i: number) => string): string =>
  Array.from({ length: count }, (_, i) => `${line(i).padEnd(31)}\n`).join('');
const TEXT = fixedLines(96, (i) => `Record ${i} of the Fanout test`);
const NDJSON = fixedLines(96, (i) => JSON.stringify({ id: i, word: `w${i}` }));
const BINARY = randomBytes(2500);

interface Accepted {
  jobId: string;
  status: string;
  chunksTotal: number | null;
  statusUrl: string;
  resultUrl: string;
}

let served: TestServer;
let engine: Engine;
let server: LocalServer;

beforeAll(async () => {
  served = await startTestServer('http', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
    { path: ['server', 'max_body_bytes'], value: MAX_BODY_BYTES, flag: '--max-body-bytes' },
  ]);
  ({ engine, server } = served);
});

afterAll(async () => {
  await served?.close();
});

const post = (body: string | Uint8Array, contentType: string, query = ''): Promise<Response> =>
  fetch(`${server.url}/jobs${query}`, { method: 'POST', headers: { 'content-type': contentType }, body });

const getJson = async <T>(path: string): Promise<T> => (await fetch(server.url + path)).json() as Promise<T>;

const submit = async (body: string | Uint8Array, contentType: string, query = ''): Promise<Accepted> => {
  const response = await post(body, contentType, query);
  expect(response.status).toBe(202);
  return (await response.json()) as Accepted;
};

const waitUntilEnded = async (jobId: string): Promise<JobView> => {
  for (let poll = 0; poll < 500; poll++) {
    const view = await getJson<JobView>(`/jobs/${jobId}`);
    if (['completed', 'completed_with_failures', 'failed', 'cancelled'].includes(view.status)) return view;
    await sleep(20);
  }
  throw new Error(`job ${jobId} did not end in time`);
};

const expectProblem = async (
  response: Response,
  status: number,
  detail: string | RegExp,
): Promise<Record<string, unknown>> => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({
    type: expect.stringMatching(/^urn:fanout:problem:[a-z-]+$/),
    title: expect.any(String),
    status,
  });
  expect(body.detail).toMatch(detail);
  return body;
};

const processedChunks = (metrics: string): number =>
  [...metrics.matchAll(/^fanout_chunks_processed_total\{target="[a-z]+"\} (\d+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );

describe('POST /jobs', () => {
  it.each([
    { contentType: 'text/plain', body: TEXT, query: `?chunkSize=${CHUNK_SIZE}` },
    { contentType: 'text/plain; charset=utf-8', body: TEXT, query: `?chunkSize=${CHUNK_SIZE}` },
    {
      contentType: 'application/x-ndjson',
      body: NDJSON,
      query: `?chunkSize=${CHUNK_SIZE}&pipeline=validate:ndjson,transform:lowercase`,
    },
    {
      contentType: 'application/octet-stream',
      body: BINARY,
      query: `?chunkSize=${CHUNK_SIZE}&chunking=bytes&pipeline=validate`,
    },
  ])(
    'accepts $contentType with 202 and a Location, ingesting, then runs every chunk',
    async ({ contentType, body, query }) => {
      // Prepare
      const tasksBefore = engine.stats().tasks;

      // Act
      const response = await post(body, contentType, query);

      // Assess
      expect(response.status).toBe(202);
      const accepted = (await response.json()) as Accepted;
      expect(accepted).toEqual({
        jobId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'ingesting',
        chunksTotal: null,
        statusUrl: `/jobs/${accepted.jobId}`,
        resultUrl: `/jobs/${accepted.jobId}/result`,
      });
      expect(response.headers.get('location')).toBe(accepted.statusUrl);
      expect(await waitUntilEnded(accepted.jobId)).toMatchObject({ status: 'completed', chunksCompleted: 3 });
      expect(engine.stats().tasks - tasksBefore).toBe(3);
    },
  );

  it('runs a job in the lane ?priority= names, and shows the lane in its view', async () => {
    // Act
    const accepted = await submit(TEXT, 'text/plain', `?chunkSize=${CHUNK_SIZE}&priority=high`);

    // Assess
    expect(await waitUntilEnded(accepted.jobId)).toMatchObject({ status: 'completed', priority: 'high' });
  });

  it('answers 400 naming an unknown lane, and takes no job', async () => {
    // Prepare
    const before = (await getJson<{ jobs: unknown[] }>('/jobs?limit=1000')).jobs.length;

    // Act
    const response = await post(TEXT, 'text/plain', '?priority=urgent');

    // Assess
    await expectProblem(response, 400, 'priority must be one of high, medium, low, got "urgent"');
    expect((await getJson<{ jobs: unknown[] }>('/jobs?limit=1000')).jobs).toHaveLength(before);
  });
});

describe('POST /jobs with an Idempotency-Key', () => {
  const postWithKey = (body: string, key: string, query = `?chunkSize=${CHUNK_SIZE}`) =>
    fetch(`${server.url}/jobs${query}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'idempotency-key': key },
      body,
    });

  it('gives a retry the same job with 200, and another body with the key 422', async () => {
    // Prepare
    const key = `"${crypto.randomUUID()}"`;
    const first = await postWithKey(TEXT, key);
    const { jobId } = (await first.json()) as Accepted;

    // Act
    const retry = await postWithKey(TEXT, key);
    const other = await postWithKey(TEXT.toUpperCase(), key);

    // Assess
    expect(first.status).toBe(202);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as JobView).jobId).toBe(jobId);
    expect(retry.headers.get('location')).toBe(`/jobs/${jobId}`);
    await expectProblem(other, 422, /was first sent with another request/);
    await waitUntilEnded(jobId);
  });

  it('answers a malformed key with 400', async () => {
    // Act
    const response = await postWithKey(TEXT, '"unterminated');

    // Assess
    await expectProblem(response, 400, /Idempotency-Key must be a quoted string/);
  });
});

describe('GET /jobs/{id}', () => {
  it('reports a finished job with its counts, times and stats', async () => {
    // Prepare
    const { jobId } = await submit(TEXT, 'text/plain', `?chunkSize=${CHUNK_SIZE}`);
    await waitUntilEnded(jobId);

    // Act
    const response = await fetch(`${server.url}/jobs/${jobId}`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const view = (await response.json()) as JobView;
    expect(view).toMatchObject({
      jobId,
      status: 'completed',
      chunksTotal: 3,
      chunksCompleted: 3,
      chunksFailed: 0,
      percentComplete: 100,
      stats: { tasks: 3, states: { completed: 3, failed: 0 }, successRate: 1 },
    });
    const createdAt = Date.parse(view.createdAt);
    expect(new Date(createdAt).toISOString()).toBe(view.createdAt);
    expect(Date.parse(view.updatedAt)).toBeGreaterThanOrEqual(createdAt);
    expect(Object.keys(view.stats.targets).sort()).toEqual(['aws', 'gcp']);
  });
});

describe('GET /jobs/{id}/result', () => {
  it('returns the input transformed by the pipeline, with the input’s media type', async () => {
    // Prepare
    const { jobId } = await submit(
      TEXT,
      'text/plain',
      `?chunkSize=${CHUNK_SIZE}&pipeline=validate,transform:uppercase`,
    );
    await waitUntilEnded(jobId);

    // Act
    const response = await fetch(`${server.url}/jobs/${jobId}/result`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe(TEXT.toUpperCase());
  });

  it('returns binary input cut in bytes unchanged', async () => {
    // Prepare
    const { jobId } = await submit(
      BINARY,
      'application/octet-stream',
      `?chunkSize=${CHUNK_SIZE}&chunking=bytes&pipeline=validate`,
    );
    await waitUntilEnded(jobId);

    // Act
    const response = await fetch(`${server.url}/jobs/${jobId}/result`);

    // Assess
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await response.arrayBuffer()).equals(BINARY)).toBe(true);
  });

  it('returns a gzip result as application/gzip that gunzips to the transformed input', async () => {
    // Prepare
    const { jobId } = await submit(
      NDJSON,
      'application/x-ndjson',
      `?chunkSize=${CHUNK_SIZE}&pipeline=validate:ndjson,transform:uppercase,compress:gzip`,
    );
    await waitUntilEnded(jobId);

    // Act
    const response = await fetch(`${server.url}/jobs/${jobId}/result`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/gzip');
    expect(gunzipSync(Buffer.from(await response.arrayBuffer())).toString()).toBe(NDJSON.toUpperCase());
  });

  it('answers 409 while the job is still running', async () => {
    // Prepare
    const { jobId } = await submit(
      TEXT,
      'text/plain',
      `?chunkSize=${CHUNK_SIZE}&pipeline=validate,chaos:delay=200`,
    );

    // Act
    const response = await fetch(`${server.url}/jobs/${jobId}/result`);

    // Assess
    const body = await expectProblem(
      response,
      409,
      new RegExp(`job ${jobId} is (ingesting|queued|processing)`),
    );
    expect(body.jobStatus).toMatch(/^(ingesting|queued|processing)$/);
    await waitUntilEnded(jobId);
    expect((await fetch(`${server.url}/jobs/${jobId}/result`)).status).toBe(200);
  });

  it('answers 409 listing the failed chunks when chunks failed', async () => {
    // Prepare
    const { jobId } = await submit(
      TEXT,
      'text/plain',
      `?chunkSize=${CHUNK_SIZE}&pipeline=validate,chaos:poison=1`,
    );
    const view = await waitUntilEnded(jobId);

    // Act
    const response = await fetch(`${server.url}/jobs/${jobId}/result`);

    // Assess
    expect(view).toMatchObject({ status: 'failed', chunksFailed: 3, chunksCompleted: 0 });
    const body = await expectProblem(response, 409, `job ${jobId} has 3 failed chunks`);
    expect((body.failedChunks as number[]).toSorted((a, b) => a - b)).toEqual([0, 1, 2]);
  });
});

describe('GET /jobs/{id}/tasks', () => {
  let jobId: string;

  beforeAll(async () => {
    ({ jobId } = await submit(TEXT, 'text/plain', `?chunkSize=${CHUNK_SIZE}`));
    await waitUntilEnded(jobId);
  });

  it('lists every task of the job', async () => {
    // Prepare
    const path = `/jobs/${jobId}/tasks`;

    // Act
    const body = await getJson<{ jobId: string; tasks: { index: number; state: string; bytes: number }[] }>(
      path,
    );

    // Assess
    expect(body.jobId).toBe(jobId);
    expect(body.tasks.map((task) => [task.index, task.state, task.bytes])).toEqual([
      [0, 'completed', 1024],
      [1, 'completed', 1024],
      [2, 'completed', 1024],
    ]);
  });

  it.each([
    { status: 'completed', count: 3 },
    { status: 'failed', count: 0 },
  ])('lists only the tasks in state $status', async ({ status, count }) => {
    // Prepare
    const path = `/jobs/${jobId}/tasks?status=${status}`;

    // Act
    const body = await getJson<{ tasks: { state: string }[] }>(path);

    // Assess
    expect(body.tasks).toHaveLength(count);
    expect(body.tasks.every((task) => task.state === status)).toBe(true);
  });

  it('answers 400 naming an unknown state and the known ones', async () => {
    // Prepare
    const url = `${server.url}/jobs/${jobId}/tasks?status=bogus`;

    // Act
    const response = await fetch(url);

    // Assess
    await expectProblem(
      response,
      400,
      'status must be one of pending, processing, retrying, completed, failed, cancelled, got "bogus"',
    );
  });
});

describe('GET /stats, /health and /metrics', () => {
  it('counts a finished job’s chunks in /stats', async () => {
    // Prepare
    const before = await getJson<JobView['stats']>('/stats');
    const { jobId } = await submit(TEXT, 'text/plain', `?chunkSize=${CHUNK_SIZE}`);
    await waitUntilEnded(jobId);

    // Act
    const after = await getJson<JobView['stats']>('/stats');

    // Assess
    expect(after.tasks - before.tasks).toBe(3);
    expect(after.states.completed - before.states.completed).toBe(3);
    expect(Object.keys(after.targets).sort()).toEqual(['aws', 'gcp']);
  });

  it.each(['/health/live', '/health'])('answers %s with ok', async (path) => {
    // Act
    const response = await fetch(server.url + path);

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /health/ready with the stores and every target’s queue and breaker', async () => {
    // Act
    const response = await fetch(`${server.url}/health/ready`);

    // Assess
    expect(response.status).toBe(200);
    const target = { queue: { ok: true }, breaker: 'closed', accepting: true };
    expect(await response.json()).toEqual({
      status: 'ready',
      stores: { tasks: { ok: true }, results: { ok: true } },
      targets: { aws: target, gcp: target },
    });
  });

  it('exposes Prometheus metrics counting processed chunks by target', async () => {
    // Prepare
    const before = processedChunks(await (await fetch(`${server.url}/metrics`)).text());
    const { jobId } = await submit(TEXT, 'text/plain', `?chunkSize=${CHUNK_SIZE}`);
    await waitUntilEnded(jobId);

    // Act
    const response = await fetch(`${server.url}/metrics`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^fanout_chunks_processed_total\{target="(aws|gcp)"\} \d+$/m);
    expect(processedChunks(text) - before).toBe(3);
    for (const lane of ['high', 'medium', 'low'])
      expect(text).toMatch(new RegExp(`^fanout_queue_depth\\{target="aws",lane="${lane}"\\} 0$`, 'm'));
  });
});

describe('a server whose targets are all down', () => {
  let downServed: TestServer;
  let downEngine: Engine;
  let down: LocalServer;

  /** Runs a job of two chunks on one target in an outage of it: its breaker opens on the second failure. */
  const takeDown = async (target: string): Promise<void> => {
    const response = await fetch(
      `${down.url}/jobs?targets=${target}&pipeline=chaos:target=${target}&maxAttempts=1&chunkSize=${CHUNK_SIZE}`,
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: fixedLines(64, (i) => `line ${i}`) },
    );
    const { jobId } = (await response.json()) as Accepted;
    for (let poll = 0; poll < 500; poll++) {
      const view = (await (await fetch(`${down.url}/jobs/${jobId}`)).json()) as JobView;
      if (view.status === 'failed') return;
      await sleep(20);
    }
    throw new Error(`job ${jobId} did not end in time`);
  };

  beforeAll(async () => {
    downServed = await startTestServer('http-down', [
      { path: ['workers_per_target'], value: 1, flag: '--workers' },
      { path: ['breaker', 'failure_threshold'], value: 2, flag: 'breaker.failure_threshold' },
      { path: ['breaker', 'reset_timeout_ms'], value: 60_000, flag: 'breaker.reset_timeout_ms' },
    ]);
    ({ engine: downEngine, server: down } = downServed);
    await takeDown('aws');
    await takeDown('gcp');
  });

  afterAll(async () => {
    await downServed?.close();
  });

  it('answers POST /jobs with 503, Retry-After until a breaker lets a probe through, and records no job', async () => {
    // Prepare
    const tasksBefore = downEngine.stats().tasks;

    // Act
    const response = await fetch(`${down.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: TEXT,
    });

    // Assess
    const problem = await expectProblem(
      response,
      503,
      /no target of aws, gcp takes work now: every breaker is open/,
    );
    expect(problem).toMatchObject({
      type: 'urn:fanout:problem:no-target-available',
      targets: ['aws', 'gcp'],
    });
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(30);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(downEngine.stats().tasks).toBe(tasksBefore);
  });

  it('is live but not ready, naming each target’s open breaker', async () => {
    // Act
    const [live, ready] = await Promise.all([
      fetch(`${down.url}/health/live`),
      fetch(`${down.url}/health/ready`),
    ]);

    // Assess
    expect(live.status).toBe(200);
    const problem = await expectProblem(
      ready,
      503,
      'not ready: target aws: breaker open; target gcp: breaker open',
    );
    expect(problem.stores).toEqual({ tasks: { ok: true }, results: { ok: true } });
  });

  it('shows each target’s open breaker and load in /stats', async () => {
    // Act
    const stats = (await (await fetch(`${down.url}/stats`)).json()) as JobView['stats'];

    // Assess
    for (const target of ['aws', 'gcp']) {
      expect(stats.targets[target]).toMatchObject({
        breaker: 'open',
        breakerOpened: 1,
        inFlight: 0,
        load: 0,
      });
    }
  });
});

describe('a bad POST /jobs', () => {
  it.each([
    { name: 'an empty body', type: 'text/plain', body: '', query: '', status: 400, detail: /body is empty/ },
    {
      name: 'an unknown step',
      type: 'text/plain',
      body: TEXT,
      query: '?pipeline=validate,frobnicate',
      status: 400,
      detail: /unknown step frobnicate/,
    },
    {
      name: 'a bad step parameter',
      type: 'text/plain',
      body: TEXT,
      query: '?pipeline=validate,compress:gzip:level=99',
      status: 400,
      detail: /step compress: parameter level/,
    },
    {
      name: 'a filter pattern RE2 cannot run (a backreference)',
      type: 'text/plain',
      body: TEXT,
      query: `?pipeline=${encodeURIComponent(`transform:filter:pattern=${encodeURIComponent('(a)\\1')}`)}`,
      status: 400,
      detail: /step transform: parameter pattern: not an RE2 regular expression \(.*invalid escape sequence/,
    },
    {
      name: 'a text step on bytes chunking',
      type: 'text/plain',
      body: TEXT,
      query: '?chunking=bytes',
      status: 400,
      detail: /step transform works on text and needs lines chunking/,
    },
    {
      name: 'a chunk size out of range',
      type: 'text/plain',
      body: TEXT,
      query: '?chunkSize=10',
      status: 400,
      detail: /chunk size .* from 1024 to 1048576, got 10/,
    },
    {
      name: 'chunkSize=NaN',
      type: 'text/plain',
      body: TEXT,
      query: '?chunkSize=NaN',
      status: 400,
      detail: 'chunkSize must be a whole number, got "NaN"',
    },
    {
      name: 'maxAttempts=-1',
      type: 'text/plain',
      body: TEXT,
      query: '?maxAttempts=-1',
      status: 400,
      detail: 'maxAttempts must be a whole number, got "-1"',
    },
    {
      name: 'maxAttempts=0',
      type: 'text/plain',
      body: TEXT,
      query: '?maxAttempts=0',
      status: 400,
      detail: /maxAttempts must be a whole number from 1 to 100, got 0/,
    },
    {
      name: 'an unknown target',
      type: 'text/plain',
      body: TEXT,
      query: '?targets=azure',
      status: 400,
      detail: /targets must be a non-empty subset of aws, gcp; got azure/,
    },
    {
      name: 'an unknown query option',
      type: 'text/plain',
      body: TEXT,
      query: '?colour=red',
      status: 400,
      detail: /unknown option colour; allowed: /,
    },
    {
      name: 'an unsupported content type',
      type: 'text/csv',
      body: 'a,b\n1,2\n',
      query: '',
      status: 415,
      detail: /Content-Type text\/csv is not accepted; send one of text\/plain/,
    },
    {
      name: 'a JSON body that is not a worker message',
      type: 'application/json',
      body: '{"a":1}',
      query: '',
      status: 400,
      detail: /send \{"id", "type", "payload"\} \(a worker message\)/,
    },
    {
      name: 'a body over the limit',
      type: 'text/plain',
      body: 'x'.repeat(10 * 1024),
      query: '',
      status: 413,
      detail: new RegExp(`larger than the limit of ${MAX_BODY_BYTES} bytes`),
    },
  ])('answers $status to $name and enqueues nothing', async ({ type, body, query, status, detail }) => {
    // Prepare
    const tasksBefore = engine.stats().tasks;

    // Act
    const response = await post(body, type, query);

    // Assess
    await expectProblem(response, status, detail);
    expect(engine.stats().tasks).toBe(tasksBefore);
  });

  it('answers 413 to a body over the limit sent without a Content-Length and enqueues nothing', async () => {
    // Prepare
    const tasksBefore = engine.stats().tasks;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(1024).fill(0x61));
        controller.close();
      },
    });

    // Act
    const response = await fetch(`${server.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body,
      duplex: 'half',
    });

    // Assess
    await expectProblem(response, 413, /larger than the limit/);
    expect(engine.stats().tasks).toBe(tasksBefore);
  });
});

describe('requests the API does not serve', () => {
  it.each(['/jobs/nope', '/jobs/nope/result', '/jobs/nope/tasks'])('answers 404 to GET %s', async (path) => {
    // Prepare
    const url = server.url + path;

    // Act
    const response = await fetch(url);

    // Assess
    const body = await expectProblem(response, 404, 'there is no job nope');
    expect(body.type).toBe('urn:fanout:problem:unknown-job');
  });

  it('answers a job id with malformed percent-encoding with a client error', async () => {
    // Prepare
    const url = `${server.url}/jobs/%E0%A4%A`;

    // Act
    const response = await fetch(url);

    // Assess
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it.each(['//', '//?targets=', '//jobs', '/jobs?x=1#frag'])(
    'answers %s with a 4xx problem, not a 500',
    async (path) => {
      // Prepare
      const request = () =>
        new Promise<{ status: number; type: string }>((resolve, reject) => {
          const { hostname, port } = new URL(server.url);
          const req = httpRequest({ host: hostname, port, path, method: 'POST', agent: false }, (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) });
          });
          req.on('error', reject);
          req.end();
        });

      // Act
      const { status, type } = await request();

      // Assess
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      expect(type).toBe('application/problem+json');
    },
  );

  it('answers 404 to an unknown path', async () => {
    // Prepare
    const url = `${server.url}/widgets`;

    // Act
    const response = await fetch(url);

    // Assess
    await expectProblem(response, 404, 'no resource at /widgets');
  });

  it.each([
    { method: 'DELETE', path: '/jobs', allow: 'POST, GET' },
    { method: 'PUT', path: '/jobs/abc', allow: 'GET, DELETE' },
    { method: 'POST', path: '/stats', allow: 'GET' },
  ])('answers 405 with Allow: $allow to $method $path', async ({ method, path, allow }) => {
    // Prepare
    const url = server.url + path;

    // Act
    const response = await fetch(url, { method });

    // Assess
    await expectProblem(response, 405, `${method} is not allowed on ${path}; use ${allow}`);
    expect(response.headers.get('allow')).toBe(allow);
  });
});
