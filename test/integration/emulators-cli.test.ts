import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmulatorState, readState } from '../../src/local/emulator-state.ts';
import { answers, isEmulatorRunning, stopEmulator } from '../../src/local/emulators.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/fanout.ts', import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;

const fanout = (args: string[], cwd = dir): Promise<Exit> =>
  new Promise((resolve) => {
    const child = execFile(NODE, [BIN, ...args], { cwd, encoding: 'utf8' }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });

const environmentOf = (stdout: string): Record<string, string> => {
  expect(stdout).toMatch(/^export \S+=\S+( \S+=\S+)*\n$/);
  return Object.fromEntries(
    stdout
      .trim()
      .replace(/^export /, '')
      .split(' ')
      .map((pair) => pair.split('=') as [string, string]),
  );
};

const stateDir = () => join(dir, '.fanout', 'emulators');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-emulators-'));
});

afterAll(async () => {
  // Whatever a failed test left running is stopped by its recorded PID.
  const state = await readState(stateDir()).catch(() => undefined);
  if (state !== undefined) await Promise.all([stopEmulator(state.moto), stopEmulator(state.pubsub)]);
  await rm(dir, { recursive: true, force: true });
});

describe('fanout emulators', () => {
  let first: Record<string, string>;
  let state: EmulatorState;

  it('start runs both in the background and prints the environment to export', async () => {
    // Prepare
    const args = ['emulators', 'start'];

    // Act
    const { code, stdout, stderr } = await fanout(args);

    // Assess
    expect(code).toBe(0);
    first = environmentOf(stdout);
    expect(first).toMatchObject({
      AWS_ENDPOINT_URL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      PUBSUB_EMULATOR_HOST: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      PUBSUB_PROJECT_ID: 'fanout-local',
      METADATA_SERVER_DETECTION: 'none',
    });
    expect(stderr).toContain('started moto (AWS)');
    const moto = await fetch(`${first.AWS_ENDPOINT_URL}/moto-api/reset`, { method: 'POST' });
    const pubsub = await fetch(`http://${first.PUBSUB_EMULATOR_HOST}/v1/projects/fanout-local/topics`);
    expect(moto.status).toBe(200);
    expect(pubsub.status).toBe(200);
    state = (await readState(stateDir())) as EmulatorState;
    expect(isEmulatorRunning(state.moto)).toBe(true);
    expect(isEmulatorRunning(state.pubsub)).toBe(true);
  });

  it('status says where each runs, with exit code 0', async () => {
    // Prepare
    const args = ['emulators', 'status'];

    // Act
    const { code, stdout } = await fanout(args);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain(`moto    running ${first.AWS_ENDPOINT_URL} pid ${state.moto.pid}`);
    expect(stdout).toContain(`pubsub  running http://${first.PUBSUB_EMULATOR_HOST} pid ${state.pubsub.pid}`);
  });

  it('start again reuses the running emulators and prints the same environment', async () => {
    // Prepare
    const args = ['emulators', 'start'];

    // Act
    const { code, stdout, stderr } = await fanout(args);

    // Assess
    expect(code).toBe(0);
    expect(environmentOf(stdout)).toEqual(first);
    expect(stderr).toContain(
      `already running: moto (AWS) on ${first.AWS_ENDPOINT_URL} (pid ${state.moto.pid})`,
    );
  });

  it('stop ends both processes, frees their ports and forgets them', async () => {
    // Prepare
    const args = ['emulators', 'stop'];

    // Act
    const { code, stderr } = await fanout(args);

    // Assess
    expect(code).toBe(0);
    expect(stderr).toContain(`stopped moto (AWS) on ${first.AWS_ENDPOINT_URL} (pid ${state.moto.pid})`);
    expect(isEmulatorRunning(state.moto)).toBe(false);
    expect(isEmulatorRunning(state.pubsub)).toBe(false);
    expect(await answers(state.moto.port)).toBe(false);
    expect(await answers(state.pubsub.port)).toBe(false);
    expect(await readState(stateDir())).toBeUndefined();
  });

  it('status after stop reports both stopped, with exit code 1', async () => {
    // Prepare
    const args = ['emulators', 'status'];

    // Act
    const { code, stdout } = await fanout(args);

    // Assess
    expect(code).toBe(1);
    expect(stdout).toBe('moto    stopped\npubsub  stopped\n');
  });

  it('stop signals no process whose PID now belongs to another program', async () => {
    // Prepare
    const project = await mkdtemp(join(tmpdir(), 'fanout-emulators-reused-'));
    // This test's own worker: a live PID that is not an emulator. A signal to it would end the test run.
    const reused = { pid: process.pid, port: 1, logFile: 'x.log' };
    await mkdir(join(project, '.fanout', 'emulators'), { recursive: true });
    await writeFile(
      join(project, '.fanout', 'emulators', 'state.json'),
      JSON.stringify({ moto: { kind: 'moto', ...reused }, pubsub: { kind: 'pubsub', ...reused } }),
    );

    // Act
    const { code, stderr } = await fanout(['emulators', 'stop'], project).finally(() =>
      rm(project, { recursive: true, force: true }),
    );

    // Assess
    expect(code).toBe(0);
    expect(stderr).toContain(`was not running: moto (AWS) on http://127.0.0.1:1 (pid ${process.pid})`);
    expect(stderr).toContain(`was not running: Pub/Sub emulator on http://127.0.0.1:1 (pid ${process.pid})`);
  });
});
