import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { LocalServer } from '../../src/server/local-server.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

/** 40 lines of 1 KiB: 40 chunks, of which the engine holds 2 at a time. */
const LINES = 40;
const INPUT = Array.from({ length: LINES }, (_, i) => `${`line ${i}`.padEnd(1023, '.')}\n`).join('');

let served: TestServer;
let server: LocalServer;

beforeAll(async () => {
  served = await startTestServer('ingest', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
    { path: ['max_pending_chunks'], value: 2, flag: '--max-pending-chunks' },
  ]);
  ({ server } = served);
});

afterAll(async () => {
  await served?.close();
});

const view = async (jobId: string): Promise<JobView> =>
  (await fetch(`${server.url}/jobs/${jobId}`)).json() as Promise<JobView>;

describe('a job whose input the engine reads as it has room', () => {
  it('is answered 202 at once, and shows ingesting with its progress until its input is read', async () => {
    // Prepare
    const query = '?chunkSize=1024&pipeline=chaos:delay=20';

    // Act
    const response = await fetch(`${server.url}/jobs${query}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: INPUT,
    });
    const { jobId, status } = (await response.json()) as { jobId: string; status: string };
    await sleep(100);
    const early = await view(jobId);
    let ended = early;
    while (!ended.status.startsWith('completed')) {
      await sleep(50);
      ended = await view(jobId);
    }

    // Assess
    expect(response.status).toBe(202);
    expect(status).toBe('ingesting');
    expect(early.status).toBe('ingesting');
    expect(early.chunksTotal).toBeNull();
    expect(early.ingest?.chunksEnqueued).toBeGreaterThan(0);
    expect(early.ingest?.chunksEnqueued).toBeLessThan(LINES);
    expect(early.ingest?.bytesRead).toBe((early.ingest?.chunksEnqueued ?? 0) * 1024);
    expect(ended).toMatchObject({ status: 'completed', chunksTotal: LINES, chunksCompleted: LINES });
    expect(ended).not.toHaveProperty('ingest');
  });
});
