import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/fanout.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('../fixtures/tuning-probe.ts', import.meta.url));
/** The test's environment less every variable the tuning reads or writes. */
const {
  NODE_COMPILE_CACHE: _cache,
  NODE_DISABLE_COMPILE_CACHE: _disabled,
  NODE_OPTIONS: _options,
  ...ENV
} = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FANOUT_')));
/** 96 lines of 32 bytes: three chunks of 1024 bytes, or one of 64 KiB. */
const INPUT = Array.from({ length: 96 }, (_, i) => `${`Line ${i} of the tuning test`.padEnd(31)}\n`).join('');

interface ProbedRun {
  /** The run's own TMPDIR. */
  tmp: string;
  pid: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** What test/fixtures/tuning-probe.ts saw the process do to itself, in order. */
  probe: string[];
}

let temp: string;

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'fanout-tuning-'));
});

afterAll(() => rm(temp, { recursive: true, force: true }));

/** `fanout run -` on INPUT in 64 KiB chunks unless told, under the probe, with a temp directory of its own. */
const runProbed = async (
  env: NodeJS.ProcessEnv,
  { nodeOptions = [], chunkSize = 65536 }: { nodeOptions?: string[]; chunkSize?: number } = {},
): Promise<ProbedRun> => {
  const tmp = await mkdtemp(join(temp, 'tmp-'));
  const argv = [
    ...nodeOptions,
    '--import',
    PROBE,
    BIN,
    'run',
    '-',
    '--json',
    '--chunk-size',
    String(chunkSize),
  ];
  return new Promise((resolve) => {
    const child = execFile(
      NODE,
      argv,
      { cwd: tmp, env: { ...env, TMPDIR: tmp }, encoding: 'utf8' },
      (_error, stdout, stderr) =>
        resolve({
          tmp,
          pid: child.pid as number,
          code: child.exitCode,
          stdout,
          stderr,
          probe: stderr
            .split('\n')
            .filter((line) => line.startsWith('probe: '))
            .map((line) => line.slice('probe: '.length)),
        }),
    );
    child.stdin?.end(INPUT);
  });
};

/** The files under `dir`, at any depth; none when it does not exist. */
const filesUnder = async (dir: string): Promise<string[]> =>
  existsSync(dir)
    ? (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => e.name)
    : [];

const GROWTH_HELD = 'v8 flags --semi-space-growth-factor=1';

describe('fanout start-up tuning', () => {
  it('enables the compile cache and holds the young generation, in the process it started as', async () => {
    // Act
    const { tmp, pid, code, stdout, probe } = await runProbed(ENV);

    // Assess
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as JobView).chunksCompleted).toBe(1);
    expect(probe).toEqual([`started ${pid}`, 'compile cache enabled', GROWTH_HELD, 'env NODE_COMPILE_CACHE']);
    expect((await filesUnder(join(tmp, 'node-compile-cache'))).length).toBeGreaterThan(0);
  });

  it("lets the young generation grow again, V8's default, for chunks under 16 KiB", async () => {
    // Act
    const { code, stdout, probe } = await runProbed(ENV, { chunkSize: 1024 });

    // Assess
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as JobView).chunksCompleted).toBe(3);
    expect(probe.filter((line) => line.startsWith('v8 flags'))).toEqual([
      GROWTH_HELD,
      'v8 flags --semi-space-growth-factor=2',
    ]);
  });

  it('keeps a NODE_COMPILE_CACHE the user set', async () => {
    // Prepare
    const chosen = join(temp, 'chosen');

    // Act
    const { tmp, code, probe } = await runProbed({ ...ENV, NODE_COMPILE_CACHE: chosen });

    // Assess
    expect(code).toBe(0);
    expect(probe.slice(1)).toEqual(['compile cache enabled', GROWTH_HELD]);
    expect((await filesUnder(chosen)).length).toBeGreaterThan(0);
    expect(await filesUnder(join(tmp, 'node-compile-cache'))).toEqual([]);
  });

  it.each([1024, 65536])(
    'with FANOUT_TUNING=off, %i-byte chunks, sets no V8 flag, enables no cache and writes no variable',
    async (chunkSize) => {
      // Act
      const { tmp, pid, code, stdout, probe } = await runProbed(
        { ...ENV, FANOUT_TUNING: 'off' },
        { chunkSize },
      );

      // Assess
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as JobView).status).toBe('completed');
      expect(probe).toEqual([`started ${pid}`]);
      expect(await filesUnder(join(tmp, 'node-compile-cache'))).toEqual([]);
    },
  );

  it('runs under --inspect with the one inspector it started with', async () => {
    // Act
    const { pid, code, stderr, probe } = await runProbed(ENV, { nodeOptions: ['--inspect=127.0.0.1:0'] });

    // Assess
    expect(code).toBe(0);
    expect(stderr.match(/Debugger listening on ws:/g)).toHaveLength(1);
    expect(probe.filter((line) => line.startsWith('started'))).toEqual([`started ${pid}`]);
  });
});
