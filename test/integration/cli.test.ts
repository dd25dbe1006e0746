import { type ChildProcess, execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import { matchOnStderr } from '../support/child-output.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/fanout.ts', import.meta.url));
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FANOUT_')));
/** 96 lines of 32 bytes: three chunks of 1024 bytes. */
const INPUT = Array.from({ length: 96 }, (_, i) => `${`Line ${i} of the CLI test`.padEnd(31)}\n`).join('');
const SMALL = ['--chunk-size', '1024', '--workers', '1'];

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-cli-'));
  await writeFile(join(dir, 'input.txt'), INPUT);
  await writeFile(join(dir, 'empty.txt'), '');
  await writeFile(join(dir, 'bad.yaml'), 'retry:\n  max_atempts: 3\n');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const start = (args: string[], env = ENV, cwd = dir): { child: ChildProcess; exit: Promise<Exit> } => {
  let child!: ChildProcess;
  const exit = new Promise<Exit>((resolve) => {
    child = execFile(NODE, [BIN, ...args], { cwd, env, encoding: 'utf8' }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
  return { child, exit };
};

const fanout = (args: string[], stdin = '', cwd = dir): Promise<Exit> => {
  const { child, exit } = start(args, ENV, cwd);
  child.stdin?.end(stdin);
  return exit;
};

describe('fanout run', () => {
  it('exits 0 and prints one JSON object with every chunk completed', async () => {
    // Prepare
    const args = ['run', 'input.txt', '--json', ...SMALL];

    // Act
    const { code, stdout } = await fanout(args);

    // Assess
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const view = JSON.parse(lines[0] as string) as JobView;
    expect(view).toMatchObject({ status: 'completed', chunksTotal: 3, chunksFailed: 0 });
    expect(view.stats.states.completed).toBe(view.chunksTotal);
  });

  it('writes the result to --out, a gzip file of the transformed input', async () => {
    // Prepare
    const pipeline = 'validate,transform:uppercase,compress:gzip';

    // Act
    const { code } = await fanout([
      'run',
      'input.txt',
      '--pipeline',
      pipeline,
      '--out',
      'result.txt.gz',
      ...SMALL,
    ]);

    // Assess
    expect(code).toBe(0);
    expect(gunzipSync(await readFile(join(dir, 'result.txt.gz'))).toString()).toBe(INPUT.toUpperCase());
  });

  it('reads the input from stdin given -', async () => {
    // Prepare
    const args = ['run', '-', '--pipeline', 'validate,transform:uppercase', '--out', 'stdin.txt', '--json'];

    // Act
    const { code, stdout } = await fanout([...args, ...SMALL], INPUT);

    // Assess
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as JobView).chunksTotal).toBe(3);
    expect(await readFile(join(dir, 'stdin.txt'), 'utf8')).toBe(INPUT.toUpperCase());
  });

  it('prints a stats table with the success rate and each target', async () => {
    // Prepare
    const args = ['run', 'input.txt', ...SMALL];

    // Act
    const { code, stdout } = await fanout(args);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^success rate +100\.0%$/m);
    expect(stdout).toMatch(/^chunks +3 \(3 completed, 0 failed\)$/m);
    expect(stdout).toMatch(/^aws +\d+ /m);
    expect(stdout).toMatch(/^gcp +\d+ /m);
  });

  it('exits 1 and counts the failed chunks on stderr, leaving --out unwritten', async () => {
    // Prepare
    const pipeline = 'validate,chaos:poison=1';

    // Act
    const { code, stderr } = await fanout([
      'run',
      'input.txt',
      '--pipeline',
      pipeline,
      '--out',
      'poisoned.txt',
      ...SMALL,
    ]);

    // Assess
    expect(code).toBe(1);
    expect(stderr).toMatch(/fanout: 3 chunks failed: #\d chunk \d is poisoned/);
    expect(stderr).toContain('poisoned.txt not written');
    expect(existsSync(join(dir, 'poisoned.txt'))).toBe(false);
    expect(readdirSync(dir).filter((name) => name.includes('poisoned'))).toEqual([]);
  });

  it('leaves no chunk outputs in .fanout/results once it exits, whether the job completed or failed', async () => {
    // Prepare
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-cli-results-'));
    await writeFile(join(cwd, 'input.txt'), INPUT);
    const runIn = async (pipeline: string) =>
      (await fanout(['run', 'input.txt', '--pipeline', pipeline, ...SMALL], '', cwd)).code;

    // Act: with seed 2, half poisoning fails chunk 2 of 3, so the failed job has outputs stored too.
    const codes = [await runIn('validate'), await runIn('validate,chaos:poison=0.5:seed=2')];

    // Assess
    expect(codes).toEqual([0, 1]);
    // The store made the folder: the outputs were there while the jobs ran.
    expect(readdirSync(join(cwd, '.fanout', 'results'))).toEqual([]);
    await rm(cwd, { recursive: true, force: true });
  });

  it('sorts an input of more chunks than a merge level takes into --out, leaving nothing of the merge', async () => {
    // Prepare: 300 chunks of 1 KiB, past the 256 runs one level merges, so the merge goes in two.
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-cli-sort-'));
    const records = Array.from({ length: 6_000 }, (_, id) => ({
      id,
      n: (id * 7_919) % 1_009,
      pad: 'x'.repeat(id % 40),
    }));
    await writeFile(join(cwd, 'input.ndjson'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const sort = ['run', 'input.ndjson', '--pipeline', 'calculate:op=sort:field=n', '--chunk-size', '1024'];

    // Act
    const inMemory = await fanout([...sort, '--out', 'sorted.ndjson', '--json'], '', cwd);
    const durable = await fanout([...sort, '--out', 'kept.ndjson', '--data-dir', 'data', '--json'], '', cwd);

    // Assess
    expect([inMemory.code, durable.code]).toEqual([0, 0]);
    expect((JSON.parse(inMemory.stdout) as JobView).chunksCompleted).toBeGreaterThan(256);
    const expected = [...records]
      .sort((a, b) => a.n - b.n || a.id - b.id)
      .map((r) => `${JSON.stringify(r)}\n`)
      .join('');
    expect((await readFile(join(cwd, 'sorted.ndjson'), 'utf8')) === expected).toBe(true);
    expect((await readFile(join(cwd, 'kept.ndjson'), 'utf8')) === expected).toBe(true);
    expect(readdirSync(join(cwd, '.fanout', 'results'))).toEqual([]);
    expect(readdirSync(join(cwd, 'data', 'scratch'))).toEqual([]);
    await rm(cwd, { recursive: true, force: true });
  });

  it.each([
    {
      name: 'a missing input file',
      args: ['run', 'missing.txt'],
      error: /input file missing\.txt does not exist/,
    },
    { name: 'an empty input file', args: ['run', 'empty.txt'], error: /input file empty\.txt is empty/ },
    { name: 'empty standard input', args: ['run', '-'], error: /the input is empty/ },
    {
      name: 'an unknown step',
      args: ['run', 'input.txt', '--pipeline', 'validate,frobnicate'],
      error: /unknown step frobnicate; known steps: /,
    },
    {
      name: 'a bad step parameter',
      args: ['run', 'input.txt', '--pipeline', 'validate,compress:gzip:level=99'],
      error: /step compress: parameter level/,
    },
    {
      name: 'a chunk size out of range',
      args: ['run', 'input.txt', '--chunk-size', '10'],
      error: /chunking\.size \(from --chunk-size\): Too small/,
    },
    {
      name: 'a chunk size that is not a number',
      args: ['run', 'input.txt', '--chunk-size', 'abc'],
      error: /chunking\.size \(from --chunk-size\)/,
    },
    {
      name: 'a negative --max-attempts',
      args: ['run', 'input.txt', '--max-attempts', '-1'],
      error: /retry\.max_attempts \(from --max-attempts\)/,
    },
    {
      name: 'an unknown strategy',
      args: ['run', 'input.txt', '--strategy', 'fastest'],
      error: /'fastest' is invalid.*round_robin, least_loaded, random, weighted/,
    },
    {
      name: 'an unknown lane',
      args: ['run', 'input.txt', '--priority', 'urgent'],
      error: /'urgent' is invalid.*high, medium, low/,
    },
    {
      name: 'a config file with an unknown key',
      args: ['run', 'input.txt', '--config', 'bad.yaml'],
      error: /unknown setting retry\.max_atempts \(from .*bad\.yaml\)/,
    },
    {
      name: 'a config file that does not exist',
      args: ['run', 'input.txt', '--config', 'nowhere.yaml'],
      error: /config file .*nowhere\.yaml does not exist/,
    },
    { name: 'an unknown flag', args: ['run', 'input.txt', '--bogus'], error: /unknown option '--bogus'/ },
  ])('exits 2 naming the problem for $name', async ({ args, error }) => {
    // Prepare
    const argv = [...args, '--workers', '1'];

    // Act
    const { code, stdout, stderr } = await fanout(argv);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^fanout: /);
    expect(stderr).toMatch(error);
    expect(stdout).toBe('');
  });
});

/** A Node.js older than 22 on this machine, if there is one: the system Node is 20 on many. */
const OLD_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
  const probe = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return probe.status === 0 && Number(probe.stdout.split('.')[0]) < 22;
});
const BUNDLE = fileURLToPath(new URL('../../dist/fanout.js', import.meta.url));

describe('fanout run and fanout serve at start', () => {
  /** The id of a process that has ended, so that no process runs under it (barring reuse, soon after). */
  const deadPid = (): number => spawnSync(NODE, ['-e', '']).pid as number;

  it.each(['run', 'serve'])(
    'fanout %s removes the spool and result files of processes that are gone, not of live ones',
    async (command) => {
      // Prepare: a private temporary directory, so that other servers' spools are not in the way.
      const temp = await mkdtemp(join(tmpdir(), 'fanout-leftovers-'));
      const results = join(dir, '.fanout', 'results');
      const [dead, live] = [deadPid(), process.pid];
      const leftovers = {
        spools: [dead, live].map((pid) => join(temp, `fanout-body-${pid}-aBc123`)),
        results: [dead, live].map((pid) => join(results, `job-${command}.${pid}.results`)),
        partials: [dead, live].map((pid) => join(dir, `.out-${command}.txt.${pid}.partial`)),
      };
      for (const spool of leftovers.spools) {
        await mkdir(spool, { recursive: true });
        await writeFile(join(spool, 'body'), 'a body');
      }
      await mkdir(results, { recursive: true });
      for (const path of [...leftovers.results, ...leftovers.partials]) await writeFile(path, 'left');
      const env = { ...ENV, TMPDIR: temp };

      // Act
      if (command === 'run') {
        const { code } = await new Promise<Exit>((resolve) => {
          const { child, exit } = start(['run', 'input.txt', '--out', `out-${command}.txt`, ...SMALL], env);
          child.stdin?.end();
          void exit.then(resolve);
        });
        expect(code).toBe(0);
      } else {
        const { child, exit } = start(['serve', '--port', '0', '--workers', '1'], env);
        await new Promise<void>((resolve) => {
          let seen = '';
          child.stderr?.on('data', (text: string) => {
            seen += text;
            if (seen.includes('listening on')) resolve();
          });
        });
        child.kill('SIGTERM');
        await exit;
      }

      // Assess
      const kept = (paths: string[]) => paths.map((path) => existsSync(path));
      expect(kept(leftovers.spools)).toEqual([false, true]);
      expect(kept(leftovers.results)).toEqual([false, true]);
      if (command === 'run') expect(kept(leftovers.partials)).toEqual([false, true]);
      await rm(temp, { recursive: true, force: true });
      for (const path of [...leftovers.results, ...leftovers.partials]) await rm(path, { force: true });
    },
  );
});

describe('fanout on an old Node.js', () => {
  it.skipIf(OLD_NODE === undefined || !existsSync(BUNDLE))(
    'exits 2 naming the Node.js it needs, instead of failing on what that Node lacks',
    () => {
      // Act
      const { status, stderr } = spawnSync(OLD_NODE as string, [BUNDLE, '--help'], { encoding: 'utf8' });

      // Assess
      expect(status).toBe(2);
      expect(stderr).toMatch(/^fanout: needs Node\.js 22\.18\.0 or newer, and this is v2[01]\./);
    },
  );
});

describe('fanout serve', () => {
  let server: ChildProcess | undefined;

  afterEach(() => {
    if (server?.exitCode === null) server.kill('SIGKILL');
  });

  /** Starts `fanout serve --memory` on a free port; resolves once it says where it listens. */
  const serve = async (env: NodeJS.ProcessEnv) => {
    const { child, exit } = start(['serve', '--memory', '--port', '0', '--workers', '1'], env);
    server = child;
    const url = await matchOnStderr(child, /listening on (http:\/\/\S+)/);
    return { child, exit, url };
  };

  it('stops cleanly on SIGTERM while a job is still reading its input', async () => {
    // Prepare
    const { child, exit, url } = await serve({ ...ENV, FANOUT_MAX_PENDING_CHUNKS: '1' });
    const accepted = await fetch(`${url}/jobs?chunkSize=1024&pipeline=validate,chaos:delay=300`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: INPUT,
    });

    // Act
    child.kill('SIGTERM');
    const { code, stderr } = await exit;

    // Assess
    expect(accepted.status).toBe(202);
    expect(stderr).not.toContain('UsageError');
    expect(code).toBe(0);
  });

  it("with --memory, serves a finished job's result, and deletes it from .fanout/results when it stops", async () => {
    // Prepare
    const { child, exit, url } = await serve(ENV);
    const accepted = await fetch(`${url}/jobs?chunkSize=1024&pipeline=validate,transform:uppercase`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: INPUT,
    });
    const { jobId } = (await accepted.json()) as { jobId: string };
    await expect
      .poll(async () => ((await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView).status)
      .toBe('completed');
    const result = await (await fetch(`${url}/jobs/${jobId}/result`)).text();
    const stored = readdirSync(join(dir, '.fanout', 'results'));

    // Act
    child.kill('SIGTERM');
    const { code } = await exit;

    // Assess
    expect(result).toBe(INPUT.toUpperCase());
    expect(stored).toContain(`${jobId}.${child.pid}.results`);
    expect(code).toBe(0);
    expect(readdirSync(join(dir, '.fanout', 'results'))).not.toContain(`${jobId}.${child.pid}.results`);
  });
});

describe('fanout serve --mode emulators', () => {
  it('exits 2 naming the missing emulator endpoint and the command that provides it', async () => {
    // Prepare
    const env = { ...ENV, AWS_ENDPOINT_URL: '' };

    // Act
    const { child, exit } = start(['serve', '--mode', 'emulators', '--port', '0'], env);
    child.stdin?.end();
    const { code, stderr } = await exit;

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/AWS_ENDPOINT_URL is not set/);
    expect(stderr).toMatch(/fanout emulators start/);
  });

  it('exits 2 for a mode it does not know, naming the choices', async () => {
    // Act
    const { code, stderr } = await fanout(['serve', '--mode', 'cloud']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/embedded, emulators/);
  });
});
