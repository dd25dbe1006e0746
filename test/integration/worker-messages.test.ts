/**
 * The RabbitMQ worker's own JSON messages, posted to the local server's `POST /jobs`: each runs as a
 * one-record job, whose result and rejects read back as those of any job.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

let served: TestServer;
let url: string;

beforeAll(async () => {
  served = await startTestServer('worker-messages', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
  ]);
  url = served.server.url;
});

afterAll(async () => {
  await served?.close();
});

const postMessage = (message: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(message),
  });

/** Posts a message, which must be accepted, and polls its job until it ends. */
const runMessage = async (message: unknown): Promise<JobView> => {
  const response = await postMessage(message);
  expect(response.status).toBe(202);
  const { jobId } = (await response.json()) as { jobId: string };
  for (let poll = 0; poll < 500; poll++) {
    const view = (await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView;
    if (['completed', 'completed_with_failures', 'failed', 'cancelled'].includes(view.status)) return view;
    await sleep(10);
  }
  throw new Error(`job ${jobId} did not end in time`);
};

const read = async (jobId: string, what: 'result' | 'rejects'): Promise<{ type: string; text: string }> => {
  const response = await fetch(`${url}/jobs/${jobId}/${what}`);
  expect(response.status).toBe(200);
  return { type: response.headers.get('content-type') ?? '', text: await response.text() };
};

const lines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));

describe('a worker message posted to POST /jobs', () => {
  it("runs the worker's calculate example as a sum over its numbers", async () => {
    // Prepare
    const message = {
      id: 'job-123',
      type: 'calculate',
      payload: { operation: 'sum', numbers: [1, 2, 3, 4] },
    };

    // Act
    const view = await runMessage(message);
    const result = await read(view.jobId, 'result');

    // Assess
    expect(view).toMatchObject({ status: 'completed', chunksTotal: 1, chunksCompleted: 1 });
    expect(result.type).toBe('application/json');
    expect(result.text).toBe('{"op":"sum","field":"numbers","count":4,"skipped":0,"sum":10}\n');
  });

  it('rejects an invalid value of a validation: one reject, and an empty result', async () => {
    // Act
    const view = await runMessage({ type: 'email', payload: { value: 'not-an-email' } });
    const rejects = await read(view.jobId, 'rejects');
    const result = await read(view.jobId, 'result');

    // Assess
    expect(view.status).toBe('completed');
    expect(rejects.type).toBe('application/x-ndjson');
    expect(lines(rejects.text)).toEqual([
      { line: 1, field: 'value', rule: 'email', value: 'not-an-email', reason: expect.any(String) },
    ]);
    expect(result.text).toBe('');
  });

  it('gives back the record of a valid value, and no rejects', async () => {
    // Act
    const view = await runMessage({ type: 'validate', payload: { rule: 'email', value: 'ann@example.com' } });
    const rejects = await read(view.jobId, 'rejects');
    const result = await read(view.jobId, 'result');

    // Assess
    expect(view.status).toBe('completed');
    expect(rejects.text).toBe('');
    expect(result.text).toBe('{"value":"ann@example.com"}\n');
  });

  it("transforms a transformation's data", async () => {
    // Act
    const view = await runMessage({ type: 'uppercase', payload: { data: 'abc' } });
    const result = await read(view.jobId, 'result');

    // Assess
    expect(view.status).toBe('completed');
    expect(result.type).toBe('application/x-ndjson');
    expect(lines(result.text)).toEqual([{ data: 'ABC' }]);
  });

  it.each([
    ['an unknown type', { type: 'fly', payload: {} }, /\btype\b.*"fly"/],
    ['a sum without numbers', { type: 'calculate', payload: { operation: 'sum' } }, /payload\.numbers/],
    [
      'an unknown operation',
      { type: 'calculate', payload: { operation: 'median', numbers: [1] } },
      /payload\.operation.*"median"/,
    ],
    ['a message without payload', { type: 'sum' }, /worker message payload/],
  ])('refuses %s with a 400 problem naming the field', async (_, message, named) => {
    // Act
    const response = await postMessage(message);

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as { status: number; detail: string };
    expect(problem.status).toBe(400);
    expect(problem.detail).toMatch(named);
  });
});

describe("a worker message's id", () => {
  it('is its idempotency key: the same message sent twice gives the same job', async () => {
    // Prepare
    const message = { id: 'order-42', type: 'sum', payload: { numbers: [5, 6] } };

    // Act
    const first = await postMessage(message);
    const again = await postMessage(message);
    const other = await postMessage({ ...message, id: 'order-43' });

    // Assess
    expect(first.status).toBe(202);
    const { jobId } = (await first.json()) as { jobId: string };
    expect(again.status).toBe(200);
    expect(((await again.json()) as JobView).jobId).toBe(jobId);
    expect(again.headers.get('location')).toBe(`/jobs/${jobId}`);
    expect(other.status).toBe(202);
    expect(((await other.json()) as { jobId: string }).jobId).not.toBe(jobId);
  });

  it('is taken as it is written: any text, not read as an Idempotency-Key header', async () => {
    // Prepare: ids a header could carry only quoted, or not at all; and one that looks quoted.
    const sum = { type: 'sum', payload: { numbers: [2] } };
    const ids = ['job 7', 'jöb-7', '"job-7"', 'job-7'];

    // Act
    const first = await Promise.all(ids.map((id) => postMessage({ ...sum, id })));
    const again = await Promise.all(ids.map((id) => postMessage({ ...sum, id })));

    // Assess: each id is a key of its own, which gives its job back when sent again.
    expect(first.map((response) => response.status)).toEqual([202, 202, 202, 202]);
    expect(again.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    const made = await Promise.all(first.map(async (r) => ((await r.json()) as { jobId: string }).jobId));
    const found = await Promise.all(again.map(async (r) => ((await r.json()) as JobView).jobId));
    expect(found).toEqual(made);
    expect(new Set(made).size).toBe(ids.length);
  });

  it('is refused, by its name, when longer than a key may be', async () => {
    // Act
    const response = await postMessage({ id: 'x'.repeat(256), type: 'sum', payload: { numbers: [1] } });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/^worker message id: /);
  });

  it('gives way to an Idempotency-Key header', async () => {
    // Prepare
    const message = { id: 'order-44', type: 'sum', payload: { numbers: [1] } };

    // Act
    const first = await postMessage(message, { 'idempotency-key': 'header-key-1' });
    const sameId = await postMessage(message, { 'idempotency-key': 'header-key-2' });

    // Assess: the id is not the key when a header names one, so the second is a job of its own.
    expect(first.status).toBe(202);
    expect(sameId.status).toBe(202);
    const ids = await Promise.all([first.json(), sameId.json()]);
    expect((ids[0] as { jobId: string }).jobId).not.toBe((ids[1] as { jobId: string }).jobId);
  });
});
