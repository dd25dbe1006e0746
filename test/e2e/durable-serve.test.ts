import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { matchOnStderr } from '../support/child-output.ts';
import { BIN, CLEAN_ENV, NODE } from '../support/cli-process.ts';
import { seededRandom } from '../support/prng.ts';

const CHUNKS = 5000;
const LINE = 1024;
const KILLS = 24;
const random = seededRandom(23);

/** 5,000 lines of 1 KiB: with 1 KiB chunks, one line a chunk, each line its own. */
const input = (): string => {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const lines: string[] = [];
  for (let i = 0; i < CHUNKS; i++) {
    const head = `line ${i} `;
    let body = '';
    while (body.length < LINE - 1 - head.length) body += letters[Math.floor(random() * 26)];
    lines.push(`${head}${body}\n`);
  }
  return lines.join('');
};

const ENV = {
  ...CLEAN_ENV,
  FANOUT_PIPELINE: 'chaos:fail=0.2:delay=20:seed=5,transform:uppercase',
  FANOUT_CHUNKING_SIZE: String(LINE),
  FANOUT_RETRY_MAX_ATTEMPTS: '40',
  FANOUT_RETRY_BASE_DELAY_MS: '10',
  FANOUT_RETRY_MAX_DELAY_MS: '100',
  FANOUT_WORKERS_PER_TARGET: '2',
  FANOUT_THREADS: '2',
  FANOUT_MAX_PENDING_CHUNKS: '256',
};

let dir: string | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `fanout serve` on the data directory, on a free port: the child, and its URL once it listens. */
const serve = (dataDir: string): { process: ChildProcess; url: Promise<string> } => {
  const process = spawn(NODE, [BIN, 'serve', '--data-dir', dataDir, '--port', '0'], {
    env: ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = matchOnStderr(process, /listening on (http:\/\/\S+)/);
  url.catch(() => {});
  return { process, url };
};

const view = async (url: string, jobId: string): Promise<JobView> =>
  (await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView;

describe('fanout serve on a data directory, killed with SIGKILL again and again', () => {
  it('completes every chunk of a chaos job exactly once, with a byte-exact result and stats equal to the records', {
    timeout: 420_000,
  }, async () => {
    // Prepare
    dir = await mkdtemp(join(tmpdir(), 'fanout-durable-'));
    const dataDir = join(dir, 'data');
    const body = input();
    let jobId: string | undefined;
    const kills = { total: 0, duringStart: 0, duringIngest: 0, whileCompleting: 0 };
    let serverUrl = '';

    // Act: start, let it run a random while, kill it: at least 20 times; then let it finish.
    for (let life = 0; life <= KILLS; life++) {
      const server = serve(dataDir);
      child = server.process;
      const last = life === KILLS;
      // One kill in five lands while the server starts and takes its jobs up again.
      const early = !last && life > 0 && random() < 0.2;
      if (early) await sleep(200 + random() * 600);
      else {
        const url = await server.url;
        if (jobId === undefined) {
          const response = await fetch(`${url}/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'text/plain' },
            body,
          });
          expect(response.status).toBe(202);
          jobId = ((await response.json()) as { jobId: string }).jobId;
        }
        serverUrl = url;
        if (last) break;
        const before = await view(url, jobId);
        await sleep(300 + random() * 1200);
        const at = await view(url, jobId);
        if (at.chunksTotal === null) kills.duringIngest++;
        if (at.stats.states.completed > before.stats.states.completed) kills.whileCompleting++;
        if (at.status === 'completed')
          throw new Error(`the job ended after ${kills.total} kills: make it longer`);
      }
      if (early) kills.duringStart++;
      child.kill('SIGKILL');
      await once(child, 'exit');
      kills.total++;
    }
    let final = await view(serverUrl, jobId as string);
    while (final.status !== 'completed' && final.status !== 'failed') {
      await sleep(500);
      final = await view(serverUrl, jobId as string);
    }
    const tasks = (
      (await (await fetch(`${serverUrl}/jobs/${jobId}/tasks`)).json()) as { tasks: TaskRecord[] }
    ).tasks;
    const result = Buffer.from(await (await fetch(`${serverUrl}/jobs/${jobId}/result`)).arrayBuffer());

    // Assess
    expect(kills.total).toBeGreaterThanOrEqual(20);
    expect(kills.duringIngest).toBeGreaterThan(0);
    expect(kills.whileCompleting).toBeGreaterThan(0);
    expect(kills.duringStart).toBeGreaterThan(0);
    expect(final.status).toBe('completed');
    expect(tasks).toHaveLength(CHUNKS);
    for (const task of tasks) {
      expect(task.state).toBe('completed');
      // Completed once, by its last try: nothing that completed ran again.
      expect(task.attempts.filter((a) => a.outcome === 'completed')).toHaveLength(1);
      expect(task.attempts.at(-1)?.outcome).toBe('completed');
    }
    expect(result.equals(Buffer.from(body.toUpperCase()))).toBe(true);
    const attempts = tasks.flatMap((task) => task.attempts);
    const states = { completed: CHUNKS, processing: 0, pending: 0, retrying: 0, failed: 0, cancelled: 0 };
    expect(final.stats.states).toEqual(states);
    expect(final.stats.attempts).toBe(attempts.length);
    expect(final.stats.retries).toBe(attempts.length - CHUNKS);
    for (const [target, report] of Object.entries(final.stats.targets)) {
      expect(report.attempts).toBe(attempts.filter((a) => a.target === target).length);
      expect(report.completed).toBe(
        attempts.filter((a) => a.target === target && a.outcome === 'completed').length,
      );
    }
    console.log(`durable-serve: ${JSON.stringify(kills)}, ${attempts.length} tries for ${CHUNKS} chunks`);
  });
});
