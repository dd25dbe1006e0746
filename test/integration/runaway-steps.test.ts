import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { matchOnStderr } from '../support/child-output.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/fanout.ts', import.meta.url));
const SPIN_STEP = fileURLToPath(new URL('../support/steps/spin.ts', import.meta.url));
/** One thread, so that a job after a runaway can only complete on the thread that replaced it. */
const ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FANOUT_'))),
  FANOUT_THREADS: '1',
  FANOUT_TARGETS: 'aws',
};

let dir: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-runaway-'));
});

afterEach(() => {
  if (server?.exitCode === null) server.kill('SIGKILL');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** Starts `fanout serve --step spin.ts` on a free port; resolves once it says where it listens. */
const serve = async (env: NodeJS.ProcessEnv = {}) => {
  let child!: ChildProcess;
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child = execFile(
      NODE,
      [BIN, 'serve', '--memory', '--port', '0', '--workers', '1', '--step', SPIN_STEP],
      { cwd: dir, env: { ...ENV, ...env }, encoding: 'utf8' },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
  server = child;
  const url = await matchOnStderr(child, /listening on (http:\/\/\S+)/);
  return { child, exit, url };
};

const post = async (url: string, query: string, body: string): Promise<string> => {
  const response = await fetch(`${url}/jobs?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body,
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
};

/** Waits for a job to end: completed, with failures, or failed (none of its chunks completed). */
const ended = async (url: string, jobId: string, timeout = 20_000): Promise<JobView> => {
  await expect
    .poll(async () => ((await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView).status, {
      timeout,
      interval: 100,
    })
    .toMatch(/^(completed|failed)/);
  return (await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView;
};

const tasksOf = async (url: string, jobId: string): Promise<TaskRecord[]> =>
  ((await (await fetch(`${url}/jobs/${jobId}/tasks`)).json()) as { tasks: TaskRecord[] }).tasks;

describe('fanout serve with a step that runs away', () => {
  it('ends the job of a backtracking filter pattern on one long line: RE2 does not backtrack', async () => {
    // Prepare
    const { url } = await serve();
    const pipeline = encodeURIComponent(
      `transform:filter:pattern=${encodeURIComponent('(a+)+$')}:timeout=2000`,
    );

    // Act
    const jobId = await post(url, `pipeline=${pipeline}`, `${'a'.repeat(50_000)}b\n`);
    const view = await ended(url, jobId, 10_000);

    // Assess
    expect(view).toMatchObject({ status: 'completed', chunksTotal: 1, chunksFailed: 0 });
    expect(await (await fetch(`${url}/jobs/${jobId}/result`)).text()).toBe('');
  });

  it('stops a step that never yields after its timeout, on a new thread runs the next job, and stops on SIGTERM', async () => {
    // Prepare
    const { child, exit, url } = await serve();

    // Act
    const runaway = await post(url, 'pipeline=spin:timeout=500&maxAttempts=2', 'spin\n');
    const next = await post(url, 'pipeline=spin:timeout=500', 'fine\n');
    const runawayView = await ended(url, runaway);
    const nextView = await ended(url, next);
    const [task] = await tasksOf(url, runaway);
    const sent = Date.now();
    child.kill('SIGTERM');
    const { code } = await exit;

    // Assess
    expect(runawayView).toMatchObject({ status: 'failed', chunksFailed: 1, chunksCompleted: 0 });
    expect(task?.state).toBe('failed');
    expect(task?.error?.message).toBe(
      'stopped after its timeout of 500 ms: it never yielded, so its worker thread was ended',
    );
    expect(task?.attempts.map((attempt) => attempt.workerId)).toEqual([
      expect.stringMatching(/^aws-\d+$/),
      expect.stringMatching(/^aws-\d+$/),
    ]);
    expect(new Set(task?.attempts.map((attempt) => attempt.workerId)).size).toBe(2);
    expect(nextView).toMatchObject({ status: 'completed', chunksFailed: 0 });
    expect(code).toBe(0);
    expect(Date.now() - sent).toBeLessThan(5000);
  });

  it('is not ready while a thread is stuck past its deadline, and stops on SIGTERM all the same', async () => {
    // Prepare: a grace long enough that the thread is not ended while the test looks
    const { child, exit, url } = await serve({
      FANOUT_STEP_STOP_GRACE_MS: '600000',
      FANOUT_SHUTDOWN_GRACE_MS: '1000',
    });
    const jobId = await post(url, 'pipeline=spin:timeout=300&maxAttempts=1', 'spin\n');

    // Act
    await expect
      .poll(async () => (await fetch(`${url}/health/ready`)).status, { timeout: 5000, interval: 100 })
      .toBe(503);
    const problem = (await (await fetch(`${url}/health/ready`)).json()) as {
      detail: string;
      stuck: { thread: string; jobId: string; index: number; attempt: number; overdueMs: number }[];
    };
    const sent = Date.now();
    child.kill('SIGTERM');
    const { code } = await exit;

    // Assess
    expect(problem.stuck).toEqual([
      {
        thread: expect.stringMatching(/^aws-\d+$/),
        jobId,
        index: 0,
        attempt: 1,
        overdueMs: expect.any(Number),
      },
    ]);
    expect(problem.detail).toMatch(
      new RegExp(
        `^not ready: thread aws-\\d+: try 1 of chunk 0 of job ${jobId} runs \\d+ ms past its deadline$`,
      ),
    );
    expect(code).toBe(0);
    expect(Date.now() - sent).toBeLessThan(5000);
  });
});
