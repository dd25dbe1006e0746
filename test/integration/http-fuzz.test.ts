import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/local-server.ts';
import { specText, specValue } from '../support/spec-arbitraries.ts';

/** Requests per run: the property runs RUNS batches of BATCH requests, sent CONCURRENCY at a time. */
const RUNS = 200;
const BATCH = 50;
const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 10_000;

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

let served: TestServer;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const jobIds: string[] = [];
let answered = 0;

beforeAll(async () => {
  served = await startTestServer('fuzz', [
    { path: ['workers_per_target'], value: 2, flag: '--workers' },
    { path: ['threads'], value: 2, flag: 'threads' },
    { path: ['server', 'max_body_bytes'], value: 4096, flag: '--max-body-bytes' },
    { path: ['server', 'max_ingesting_jobs'], value: 64, flag: 'server.max_ingesting_jobs' },
    { path: ['server', 'allowed_origins'], value: ['https://app.example'], flag: 'allowed_origins' },
  ]);
  ({ port } = served);
});

afterAll(async () => {
  agent.destroy();
  await served?.close();
});

/** Sends a request on the shared keep-alive agent; rejects when no answer has come in time. */
const send = ({
  method,
  path,
  headers,
  body,
}: Sent): Promise<{ status: number; type: string; text: string }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const pieces: Buffer[] = [];
      res.on('data', (piece: Buffer) => pieces.push(piece));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(pieces).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });

const JOB_OPTIONS = [
  'pipeline',
  'chunking',
  'chunkSize',
  'maxAttempts',
  'strategy',
  'targets',
  'status',
  'limit',
  'cursor',
];
const OPTION_VALUES = [
  'lines',
  'bytes',
  '1024',
  '4096',
  '1048577',
  '0',
  '-1',
  '1e3',
  '0x400',
  ' 1024',
  '1',
  '100',
  '101',
  'round_robin',
  'least_loaded',
  'weighted',
  'fastest',
  'aws',
  'gcp',
  'aws,gcp',
  'azure',
  'failed',
  'pending',
  '1000',
  '1001',
  'MA',
  'bm90IGEgY3Vyc29y',
];

/** An encoded query value: as a URL would carry it, raw, or with odd escapes. */
const encoded = (value: fc.Arbitrary<string>) =>
  fc.tuple(value, fc.constantFrom('component', 'raw', 'plus')).map(([text, how]) => {
    if (how === 'component') return encodeURIComponent(text);
    if (how === 'plus') return encodeURIComponent(text).replaceAll('%20', '+');
    return text.replace(/[^\x21-\x7e]|#/g, (c) => encodeURIComponent(c));
  });

const queryPair = fc.oneof(
  { weight: 3, arbitrary: encoded(specText).map((spec) => `pipeline=${spec}`) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...JOB_OPTIONS), encoded(fc.oneof(fc.constantFrom(...OPTION_VALUES), specValue)))
      .map(([key, value]) => `${key}=${value}`),
  },
  { weight: 1, arbitrary: encoded(fc.string({ maxLength: 6 })).map((junk) => junk) },
);

const query = fc
  .array(queryPair, { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`));

const idPart = fc.oneof(
  fc.constantFrom('known', 'nope', '%', '%zz', '%E0%A4%A', '..', '%2F', '%00', 'a%20b'),
  fc.string({ maxLength: 10 }).map(encodeURIComponent),
);

const path = fc.oneof(
  { weight: 4, arbitrary: fc.constant('/jobs') },
  {
    weight: 3,
    arbitrary: fc
      .tuple(idPart, fc.constantFrom('', '/', '/result', '/tasks', '/tasks/', '/timeline', '/junk'))
      .map(([id, rest]) => `/jobs/${id}${rest}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/health',
      '/health/live',
      '/health/ready',
      '/stats',
      '/metrics',
      '/jobs/',
      '/',
      '/targets',
      '/dashboard/app.js',
      '/dashboard/%2e%2e/package.json',
      '/dashboard/..%2Fpackage.json',
      '/dashboard/',
    ),
  },
  { weight: 1, arbitrary: fc.webPath().map((p) => p.replace(/[^\x21-\x7e]/g, encodeURIComponent) || '/x') },
);

const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-ndjson',
      'application/octet-stream',
      'application/json',
      'TEXT/PLAIN',
      'image/png',
      '',
    ),
    origin: fc.constantFrom('https://evil.example', 'https://app.example', 'null', 'http://localhost'),
    host: fc.constantFrom('localhost', 'evil.example', '[::1]', '127.0.0.1:1'),
    'access-control-request-method': fc.constantFrom('POST', 'GET', 'DELETE'),
    'x-junk': fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  },
  { requiredKeys: ['content-type'] },
);

const body = fc.oneof(
  fc.constant(''),
  fc
    .array(fc.constantFrom('{"a":1}', 'plain line', '', 'not json {', '\u00e9'), { maxLength: 6 })
    .map((lines) => lines.map((line) => `${line}\n`).join('')),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.constant('{"source": "s3://bucket/key"}'),
);

const request = fc
  .record({
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('GET', 'POST') },
      { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'FOO') },
    ),
    path,
    query,
    headers,
    body,
  })
  .map(({ method, path, query, headers, body }) => ({ method, path: path + query, headers, body }));

/** The request as sent: a known job's id in place of `known`, the host with the server's port. */
const resolved = (sent: Sent, pick: number): Sent => ({
  ...sent,
  path: sent.path.replace('/jobs/known', `/jobs/${jobIds[pick % Math.max(1, jobIds.length)] ?? 'none'}`),
  headers: {
    ...sent.headers,
    ...(sent.headers.host !== undefined && {
      host:
        sent.headers.host.includes(':') && !sent.headers.host.startsWith('[')
          ? sent.headers.host
          : `${sent.headers.host}:${port}`,
    }),
  },
  ...(sent.method === 'GET' || sent.method === 'HEAD' ? { body: '' } : {}),
});

/** What is wrong with an answer, or undefined when it is a 2xx or a problem+json 4xx. */
const wrongAnswer = (
  sent: Sent,
  answer: { status: number; type: string; text: string },
): string | undefined => {
  if (answer.status >= 200 && answer.status < 300) return undefined;
  if (answer.status >= 400 && answer.status < 500 && answer.type === 'application/problem+json')
    return undefined;
  if (answer.status === 405 && sent.method === 'HEAD') return undefined;
  return `${sent.method} ${sent.path} ${JSON.stringify(sent.headers)}: ${answer.status} ${answer.type} ${answer.text.slice(0, 300)}`;
};

const runBatch = async (batch: { sent: Sent; pick: number }[]): Promise<string[]> => {
  const wrong: string[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < batch.length; i = next++) {
      const item = batch[i] as { sent: Sent; pick: number };
      const sent = resolved(item.sent, item.pick);
      const answer = await send(sent).catch((error: Error) => ({ status: 0, type: '', text: error.message }));
      answered++;
      if (answer.status === 202) jobIds.push((JSON.parse(answer.text) as { jobId: string }).jobId);
      const problem = wrongAnswer(sent, answer);
      if (problem !== undefined) wrong.push(problem);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return wrong;
};

describe('the HTTP API under generated requests', () => {
  it(`answers ${RUNS * BATCH} requests with a 2xx or a problem+json 4xx, and stays healthy`, async () => {
    // Prepare
    const batches = fc.array(fc.record({ sent: request, pick: fc.nat() }), {
      minLength: BATCH,
      maxLength: BATCH,
    });

    // Act
    await fc.assert(
      fc.asyncProperty(batches, async (batch) => {
        expect(await runBatch(batch)).toEqual([]);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );

    // Assess
    expect(answered).toBeGreaterThanOrEqual(10_000);
    expect((await send({ method: 'GET', path: '/health/ready', headers: {}, body: '' })).status).toBe(200);
    const accepted = await send({
      method: 'POST',
      path: '/jobs?pipeline=validate,transform:uppercase',
      headers: { 'content-type': 'text/plain' },
      body: 'after the storm\n',
    });
    expect(accepted.status).toBe(202);
    const { jobId } = JSON.parse(accepted.text) as { jobId: string };
    await expect
      .poll(
        async () =>
          (await send({ method: 'GET', path: `/jobs/${jobId}/result`, headers: {}, body: '' })).text,
        {
          timeout: 30_000,
        },
      )
      .toBe('AFTER THE STORM\n');
  }, 120_000);
});
