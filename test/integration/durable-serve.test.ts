import { type ChildProcess, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import { CLEAN_ENV, runFanout } from '../support/cli-process.ts';
import { endedView, serveOn, submitText, tasksOf } from '../support/durable-server.ts';

const ENV = {
  ...CLEAN_ENV,
  FANOUT_PIPELINE: 'transform:uppercase',
  FANOUT_CHUNKING_SIZE: '1024',
  FANOUT_RETRY_MAX_ATTEMPTS: '3',
  FANOUT_RETRY_BASE_DELAY_MS: '10',
  FANOUT_THREADS: '1',
};

/** `lines` lines of 1 KiB: one chunk each with 1 KiB chunks. */
const lines = (count: number): string =>
  Array.from({ length: count }, (_, i) => `${`line ${i} `.padEnd(1023, 'x')}\n`).join('');

let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-durable-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  await rm(dir, { recursive: true, force: true });
});

const serve = (dataDir: string, env: NodeJS.ProcessEnv = ENV) =>
  serveOn(dataDir, { cwd: dir, env, children });
const submit = submitText;
const ended = endedView;

const resultOf = async (url: string, jobId: string): Promise<string> =>
  (await fetch(`${url}/jobs/${jobId}/result`)).text();

const stop = async (child: ChildProcess): Promise<void> => {
  child.kill('SIGTERM');
  await once(child, 'exit');
};

describe('fanout serve on a data directory', () => {
  it('serves a finished job, its result and its Idempotency-Key after a restart', async () => {
    // Prepare
    const dataDir = join(dir, 'data');
    const body = lines(40);
    const first = await serve(dataDir);
    const jobId = await submit(first.url, body, { 'idempotency-key': 'k-1' });
    const before = await ended(first.url, jobId);
    await stop(first.child);

    // Act
    const second = await serve(dataDir);
    const after = (await (await fetch(`${second.url}/jobs/${jobId}`)).json()) as JobView;
    const result = await resultOf(second.url, jobId);
    // A repeat of the request under its key answers with the job it made (200: nothing new was accepted).
    const again = await submit(second.url, body, { 'idempotency-key': 'k-1' }, 200);

    // Assess
    expect(before.status).toBe('completed');
    expect(after).toMatchObject({ status: 'completed', chunksTotal: 40, chunksCompleted: 40 });
    expect(after.stats.states).toEqual(before.stats.states);
    expect(result).toBe(body.toUpperCase());
    expect(again).toBe(jobId);
  });

  it('forgets an expired job in its database and on disk', async () => {
    // Prepare
    const dataDir = join(dir, 'data');
    const { url } = await serve(dataDir, { ...ENV, FANOUT_JOBS_TTL_SECONDS: '1' });
    const jobId = await submit(url, lines(10));
    await ended(url, jobId);

    // Act
    let status = 200;
    for (let i = 0; i < 40 && status !== 404; i++) {
      await sleep(250);
      status = (await fetch(`${url}/jobs/${jobId}`)).status;
    }

    // Assess
    expect(status).toBe(404);
    const files = execFileSync('find', [dataDir, '-name', `${jobId}*`], { encoding: 'utf8' });
    expect(files).toBe('');
  });

  it('forgets, in a later fanout run --data-dir, the jobs of earlier runs past their TTL', async () => {
    // Prepare
    const dataDir = join(dir, 'data');
    await writeFile(join(dir, 'input.txt'), lines(5));
    const env = { ...ENV, FANOUT_JOBS_TTL_SECONDS: '1' };
    const first = await runFanout(['run', 'input.txt', '--data-dir', dataDir, '--json'], { cwd: dir, env });
    await sleep(1200);

    // Act
    const second = await runFanout(['run', 'input.txt', '--data-dir', dataDir, '--json'], { cwd: dir, env });

    // Assess
    const [firstId, secondId] = [first, second].map((exit) => (JSON.parse(exit.stdout) as JobView).jobId);
    const inputs = execFileSync('ls', [join(dataDir, 'inputs')], { encoding: 'utf8' }).trim();
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(inputs).toBe(`${secondId}.input`);
    expect(execFileSync('find', [dataDir, '-name', `${firstId}*`], { encoding: 'utf8' })).toBe('');
  });

  it('refuses a second server on the same data directory, naming it, exit 2', async () => {
    // Prepare
    const dataDir = join(dir, 'data');
    await serve(dataDir);

    // Act
    const second = await runFanout(['serve', '--data-dir', dataDir, '--port', '0'], { cwd: dir, env: ENV });

    // Assess
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(dataDir);
    expect(second.stderr).toMatch(/another fanout process/i);
  });

  it.each([
    [
      'a directory that cannot be made',
      (root: string) => join(root, 'file', 'data'),
      /cannot create or write/,
    ],
    ['a database that is not one', (root: string) => join(root, 'corrupt'), /not a .*database/i],
  ])('exits 2 for %s, naming the path and changing nothing', async (_, pathOf, reason) => {
    // Prepare
    await writeFile(join(dir, 'file'), 'a file, not a directory');
    await mkdir(join(dir, 'corrupt'));
    const garbage = Buffer.alloc(8192, 7);
    await writeFile(join(dir, 'corrupt', 'fanout.db'), garbage);
    const dataDir = pathOf(dir);

    // Act
    const exit = await runFanout(['serve', '--data-dir', dataDir, '--port', '0'], { cwd: dir, env: ENV });

    // Assess
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(dataDir);
    expect(exit.stderr).toMatch(reason);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(join(dir, 'corrupt', 'fanout.db'))).equals(garbage)).toBe(true);
  });

  it('refuses --memory with --data-dir, exit 2', async () => {
    // Act
    const exit = await runFanout(['serve', '--memory', '--data-dir', 'x'], { cwd: dir, env: ENV });

    // Assess
    expect(exit.code).toBe(2);
    expect(exit.stderr).toMatch(/--memory and --data-dir cannot be used together/);
  });
});

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, as on CI): a real full disk. */
const canMount = (() => {
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

describe('fanout serve when its results disk fills', () => {
  it.runIf(canMount)(
    'fails the tries retryably, stays up, loses nothing recorded, and re-runs once there is room',
    {
      timeout: 120_000,
    },
    async () => {
      // Prepare: results on a 1 MiB file system that a filler leaves 96 KiB of
      const dataDir = join(dir, 'data');
      const mounted = join(dataDir, 'results');
      await mkdir(mounted, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mounted]);
      try {
        await writeFile(join(mounted, 'filler'), Buffer.alloc(1024 * 1024 - 96 * 1024));
        const { url } = await serve(dataDir);
        const body = lines(300);

        // Act
        const jobId = await submit(url, body);
        const full = await ended(url, jobId);
        const recorded = await tasksOf(url, jobId);
        const health = await fetch(`${url}/health`);
        await rm(join(mounted, 'filler'));
        const retry = await fetch(`${url}/jobs/${jobId}/retry`, { method: 'POST' });
        const done = await ended(url, jobId);
        const after = await tasksOf(url, jobId);

        // Assess
        expect(full.status).toBe('completed_with_failures');
        expect(full.chunksCompleted).toBeGreaterThan(0);
        expect(health.status).toBe(200);
        const failed = recorded.filter((task) => task.state === 'failed');
        expect(failed.length).toBeGreaterThan(0);
        for (const task of failed)
          for (const attempt of task.attempts)
            expect(attempt.error).toMatchObject({ name: 'OutputNotStoredError', retryable: true });
        expect(retry.status).toBe(202);
        expect(done.status).toBe('completed');
        // What completed before the disk filled is as it was.
        for (const task of recorded.filter((t) => t.state === 'completed'))
          expect(after[task.index]).toEqual(task);
        expect(await resultOf(url, jobId)).toBe(body.toUpperCase());
      } finally {
        for (const child of children.splice(0)) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
        execFileSync('umount', [mounted]);
      }
    },
  );
});
