import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import { CLEAN_ENV, runFanout } from '../support/cli-process.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

/** 96 lines of 32 bytes: three chunks of 1024 bytes. */
const INPUT = Array.from({ length: 96 }, (_, i) => `${`Line ${i} of the client test`.padEnd(31)}\n`).join('');
const UPPERCASE = ['--chunk-size', '1024', '--pipeline', 'validate,transform:uppercase'];

let server: TestServer;
let endpoint: string;
let dir: string;

beforeAll(async () => {
  server = await startTestServer('cli-client', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
    { path: ['retry', 'base_delay_ms'], value: 10, flag: '--base-delay' },
  ]);
  endpoint = server.server.url;
  dir = await mkdtemp(join(tmpdir(), 'fanout-cli-client-'));
  await writeFile(join(dir, 'input.txt'), INPUT);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const fanout = (args: string[], env: NodeJS.ProcessEnv = CLEAN_ENV) => runFanout(args, { cwd: dir, env });

/** Submits input.txt with `args` and returns the new job's id, printed alone on stdout. */
const submit = async (...args: string[]): Promise<string> => {
  const { code, stdout, stderr } = await fanout(['submit', 'input.txt', '--endpoint', endpoint, ...args]);
  expect(code, stderr).toBe(0);
  return stdout.trim();
};

describe('fanout submit', () => {
  it('--wait follows the job to its end, exits 0 and writes the result to --out', async () => {
    // Prepare
    const args = [
      'submit',
      'input.txt',
      '--endpoint',
      endpoint,
      '--wait',
      '--out',
      'upper.txt',
      // Slow enough that the job still runs when the CLI first looks, so it follows it.
      '--chunk-size',
      '1024',
      '--pipeline',
      'validate,transform:uppercase,chaos:delay=300',
    ];

    // Act
    const { code, stdout, stderr } = await fanout(args);

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^job \S+: completed, 3\/3 chunks completed/);
    expect(stdout).toMatch(/success rate\s+100\.0%/);
    expect(stderr).toMatch(/following job \S+ by (events|polling)/);
    expect(await readFile(join(dir, 'upper.txt'), 'utf8')).toBe(INPUT.toUpperCase());
  });

  it('without --wait prints the job id alone, for a script to keep', async () => {
    // Act
    const jobId = await submit(...UPPERCASE);

    // Assess
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.engine.getJob(jobId)).toBeDefined();
  });

  it('--wait exits 1 when chunks failed for good, and prints how many', async () => {
    // Prepare
    const args = [
      '--wait',
      '--json',
      '--chunk-size',
      '1024',
      '--pipeline',
      'chaos:poison=1',
      '--max-attempts',
      '1',
    ];

    // Act
    const { code, stdout } = await fanout(['submit', 'input.txt', '--endpoint', endpoint, ...args]);

    // Assess
    expect(code).toBe(1);
    const view = JSON.parse(stdout) as JobView;
    expect(view.chunksFailed).toBe(3);
    expect(view.chunksCompleted).toBe(0);
  });

  it('exits 2 for a job option the endpoint refuses, with its problem detail', async () => {
    // Act
    const { code, stderr } = await fanout([
      'submit',
      'input.txt',
      '-e',
      endpoint,
      '--pipeline',
      'nosuchstep',
    ]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/POST \/jobs answered .*\(400\).*nosuchstep/);
  });
});

describe('fanout job, watch, result', () => {
  it('job prints the view, watch follows it to completed, result writes its output', async () => {
    // Prepare
    const jobId = await submit(...UPPERCASE);

    // Act
    const watched = await fanout(['watch', jobId, '--endpoint', endpoint]);
    const shown = await fanout(['job', jobId, '--endpoint', endpoint, '--json']);
    const result = await fanout(['result', jobId, '--endpoint', endpoint, '--out', 'result.txt']);

    // Assess
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/completed, 3\/3 chunks completed/);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ jobId, status: 'completed', chunksCompleted: 3 });
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(join(dir, 'result.txt'), 'utf8')).toBe(INPUT.toUpperCase());
  });

  it("rejects writes the records an ended job's checks took out, as NDJSON", async () => {
    // Prepare
    await writeFile(join(dir, 'people.ndjson'), '{"email":"a@b.co"}\n{"email":"nope"}\n');
    const submitted = await fanout([
      'submit',
      'people.ndjson',
      '-e',
      endpoint,
      '--pipeline',
      'check:email:field=email',
    ]);
    const jobId = submitted.stdout.trim();
    expect((await fanout(['watch', jobId, '-e', endpoint])).code).toBe(0);

    // Act
    const rejects = await fanout(['rejects', jobId, '-e', endpoint]);

    // Assess
    expect(rejects.code, rejects.stderr).toBe(0);
    expect(JSON.parse(rejects.stdout)).toMatchObject({
      line: 2,
      field: 'email',
      rule: 'email',
      value: 'nope',
    });
  });

  it('result of a job with failed chunks exits 2 with the problem and leaves no file', async () => {
    // Prepare
    const jobId = await submit('--chunk-size', '1024', '--pipeline', 'chaos:poison=1', '--max-attempts', '1');
    await fanout(['watch', jobId, '--endpoint', endpoint]);

    // Act
    const { code, stderr } = await fanout(['result', jobId, '-e', endpoint, '--out', 'failed.txt']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/answered .*\(409\)/);
    await expect(readFile(join(dir, 'failed.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('exits 2 for an unknown job, naming it', async () => {
    // Act
    const { code, stderr } = await fanout(['job', 'no-such-job', '--endpoint', endpoint]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown job \(404\): .*no-such-job/);
  });
});

describe('fanout jobs', () => {
  it('exits 2 for a limit out of range before it asks the endpoint', async () => {
    // Act
    const { code, stderr } = await fanout(['jobs', '--endpoint', 'http://127.0.0.1:9', '--limit', '0']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/--limit must be a whole number from 1 to 1000, got "0"/);
  });
});

describe('the endpoint', () => {
  it('comes from FANOUT_ENDPOINT when no flag names it', async () => {
    // Prepare
    const jobId = await submit(...UPPERCASE);

    // Act
    const { code, stdout } = await fanout(['job', jobId, '--json'], {
      ...CLEAN_ENV,
      FANOUT_ENDPOINT: endpoint,
    });

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ jobId });
  });

  it('comes from client.endpoint in the configuration file, and --endpoint wins over it', async () => {
    // Prepare
    const jobId = await submit(...UPPERCASE);
    await writeFile(join(dir, 'client.yaml'), 'client:\n  endpoint: http://127.0.0.1:9\n');

    // Act
    const fromFile = await fanout(['job', jobId, '--config', 'client.yaml']);
    const fromFlag = await fanout(['job', jobId, '--config', 'client.yaml', '--endpoint', endpoint]);

    // Assess
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
    expect(fromFlag.code).toBe(0);
  });

  it('missing everywhere is exit 2 naming the three ways to set it', async () => {
    // Act
    const { code, stderr } = await fanout(['jobs']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/--endpoint/);
    expect(stderr).toMatch(/FANOUT_ENDPOINT/);
    expect(stderr).toMatch(/client\.endpoint/);
  });
});

/**
 * These need the routes the lead adds on main for issue 22 (GET /jobs, DELETE /jobs/{id},
 * POST /jobs/{id}/retry); enable them once those are merged.
 */
describe('fanout jobs, cancel, retry', () => {
  it('jobs lists the jobs newest first, a page at a time', async () => {
    // Prepare
    const older = await submit(...UPPERCASE);
    const newer = await submit(...UPPERCASE);

    // Act
    const first = await fanout(['jobs', '--endpoint', endpoint, '--limit', '1', '--json']);
    const table = await fanout(['jobs', '--endpoint', endpoint, '--limit', '2']);

    // Assess
    expect(first.code, first.stderr).toBe(0);
    const page = JSON.parse(first.stdout) as { jobs: JobView[]; nextCursor: string | null };
    expect(page.jobs.map((job) => job.jobId)).toEqual([newer]);
    expect(page.nextCursor).not.toBeNull();
    const next = await fanout([
      'jobs',
      '-e',
      endpoint,
      '--limit',
      '1',
      '--cursor',
      page.nextCursor as string,
      '--json',
    ]);
    expect((JSON.parse(next.stdout) as { jobs: JobView[] }).jobs.map((job) => job.jobId)).toEqual([older]);
    expect(table.stdout.split('\n')[0]).toMatch(/^JOB\s+STATUS\s+LANE\s+CHUNKS/);
    expect(table.stdout.split('\n')[1]).toMatch(/\smedium\s/);
    expect(table.stderr).toMatch(/more jobs: fanout jobs --cursor \S+/);
  });

  it('cancel stops a running job: watch then ends with it cancelled, and result is 409', async () => {
    // Prepare: three chunks of three seconds each, one at a time: room for the cancel's CLI to start on a
    // busy machine before the job ends.
    const jobId = await submit('--chunk-size', '1024', '--pipeline', 'chaos:delay=3000', '--targets', 'aws');

    // Act
    const cancelled = await fanout(['cancel', jobId, '--endpoint', endpoint, '--json']);
    const watched = await fanout(['watch', jobId, '--endpoint', endpoint, '--json']);
    const result = await fanout(['result', jobId, '--endpoint', endpoint, '--out', 'cancelled.txt']);

    // Assess
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ jobId });
    expect(watched.code).toBe(1);
    const view = JSON.parse(watched.stdout) as JobView & { chunksCancelled: number };
    expect(view.status).toBe('cancelled');
    expect(view.chunksCancelled).toBeGreaterThan(0);
    expect(view.chunksCompleted + view.chunksCancelled).toBe(3);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\(409\)/);
  });

  it('cancel of an unknown job exits 2', async () => {
    // Act
    const { code, stderr } = await fanout(['cancel', 'no-such-job', '--endpoint', endpoint]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/\(404\)/);
  });

  it('retry runs the chunks that failed in an outage again, and --wait sees the job complete', async () => {
    // Prepare: target aws is down for the job's first second, so every chunk fails on its one try.
    const args = ['--chunk-size', '1024', '--targets', 'aws', '--max-attempts', '1'];
    const jobId = await submit(...args, '--pipeline', 'chaos:target=aws:for=1000,transform:uppercase');
    const failed = await fanout(['watch', jobId, '--endpoint', endpoint, '--json']);
    await sleep(1500);

    // Act
    const retried = await fanout(['retry', jobId, '--endpoint', endpoint, '--wait', '--json']);
    const result = await fanout(['result', jobId, '--endpoint', endpoint, '--out', 'retried.txt']);

    // Assess
    expect(failed.code).toBe(1);
    expect((JSON.parse(failed.stdout) as JobView).chunksFailed).toBe(3);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ jobId, status: 'completed', chunksCompleted: 3 });
    expect(result.code).toBe(0);
    expect(await readFile(join(dir, 'retried.txt'), 'utf8')).toBe(INPUT.toUpperCase());
  });

  it('retry of a running job exits 2 with the 409', async () => {
    // Prepare
    const jobId = await submit('--chunk-size', '1024', '--pipeline', 'chaos:delay=1000', '--targets', 'aws');

    // Act
    const { code, stderr } = await fanout(['retry', jobId, '--endpoint', endpoint]);
    await fanout(['cancel', jobId, '--endpoint', endpoint]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/\(409\)/);
  });
});
