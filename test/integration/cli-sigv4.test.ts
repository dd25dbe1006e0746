import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigV4Signer } from '../../src/cli/client/sigv4.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { matchOnStderr } from '../support/child-output.ts';
import { BIN, CLEAN_ENV, NODE, runFanout } from '../support/cli-process.ts';
import { type Moto, startMoto } from '../support/moto.ts';

/** 96 lines of 32 bytes: three chunks of 1024 bytes. */
const INPUT = Array.from({ length: 96 }, (_, i) => `${`Line ${i} of the signed test`.padEnd(31)}\n`).join('');

let moto: Moto;
let serve: ChildProcess;
let endpoint: string;
let dir: string;
/** The emulator's own credentials, which the server checks signatures against. */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [moto, dir] = await Promise.all([startMoto(), mkdtemp(join(tmpdir(), 'fanout-sigv4-'))]);
  await writeFile(join(dir, 'input.txt'), INPUT);
  // The AWS side alone: without PUBSUB_EMULATOR_HOST emulator mode runs no Google function.
  const { PUBSUB_EMULATOR_HOST: _, ...rest } = CLEAN_ENV;
  env = {
    ...rest,
    ...awsEmulatorEnvironment(moto.endpoint),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  const prefix = `sig-${randomUUID().slice(0, 8)}`;
  const args = ['serve', '--mode', 'emulators', '--require-sigv4', '--port', '0', '--prefix', prefix];
  serve = spawn(NODE, [BIN, ...args], { cwd: dir, env });
  endpoint = await matchOnStderr(serve, /the HTTP API listens on (http:\/\/\S+)/);
}, 90_000);

afterAll(async () => {
  if (serve?.exitCode === null) {
    const exited = new Promise((resolve) => serve.once('exit', resolve));
    serve.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (serve.exitCode === null) serve.kill('SIGKILL');
  }
  await moto?.stop();
  await rm(dir, { recursive: true, force: true });
});

const fanout = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runFanout(args, { cwd: dir, env: { ...env, ...extra } });

describe('emulator mode with --require-sigv4', () => {
  it('runs a job that fanout submit --sign sigv4 --wait sends, and serves its result', async () => {
    // Prepare
    const args = ['--sign', 'sigv4', '--chunk-size', '1024', '--pipeline', 'transform:uppercase'];

    // Act
    const submitted = await fanout([
      'submit',
      'input.txt',
      '-e',
      endpoint,
      ...args,
      '--wait',
      '--out',
      'up.txt',
    ]);

    // Assess
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout).toMatch(/completed, 3\/3 chunks completed/);
    expect(await readFile(join(dir, 'up.txt'), 'utf8')).toBe(INPUT.toUpperCase());
  }, 90_000);

  it('signs when client.auth comes from FANOUT_CLIENT_AUTH and the endpoint from FANOUT_ENDPOINT', async () => {
    // Prepare
    const variables = { FANOUT_ENDPOINT: endpoint, FANOUT_CLIENT_AUTH: 'sigv4' };
    const { stdout: jobId } = await fanout(['submit', 'input.txt'], variables);

    // Act
    const { code, stdout, stderr } = await fanout(['job', jobId.trim(), '--json'], variables);

    // Assess
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ jobId: jobId.trim() });
  }, 30_000);

  it('signs every other command: jobs, watch, retry --wait, result, cancel', async () => {
    // Prepare: target aws is down for the job's first 2 s, so every chunk fails on its one try.
    const variables = { FANOUT_ENDPOINT: endpoint, FANOUT_CLIENT_AUTH: 'sigv4' };
    const outage = ['--chunk-size', '1024', '--max-attempts', '1', '--pipeline'];
    const submitted = await fanout(
      ['submit', 'input.txt', ...outage, 'chaos:target=aws:for=2000,transform:uppercase'],
      variables,
    );
    const jobId = submitted.stdout.trim();
    const slow = await fanout(
      ['submit', 'input.txt', '--chunk-size', '1024', '--pipeline', 'chaos:delay=1000'],
      variables,
    );

    // Act
    const failed = await fanout(['watch', jobId, '--json'], variables);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const retried = await fanout(['retry', jobId, '--wait', '--json'], variables);
    const result = await fanout(['result', jobId, '--out', 'retried.txt'], variables);
    const listed = await fanout(['jobs', '--json'], variables);
    const cancelled = await fanout(['cancel', slow.stdout.trim(), '--json'], variables);

    // Assess
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(failed.code, failed.stderr).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ jobId, chunksFailed: 3 });
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ jobId, status: 'completed', chunksCompleted: 3 });
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(join(dir, 'retried.txt'), 'utf8')).toBe(INPUT.toUpperCase());
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(jobId);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ jobId: slow.stdout.trim() });
  }, 120_000);

  it('answers 403 problem+json to an unsigned request', async () => {
    // Act
    const response = await fetch(`${endpoint}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: INPUT,
    });

    // Assess
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({
      type: 'urn:fanout:problem:bad-signature',
      status: 403,
      detail: expect.stringMatching(/no Authorization header/),
    });
  });

  it('refuses the CLI without --sign: exit 2 with the 403', async () => {
    // Act
    const { code, stderr } = await fanout(['submit', 'input.txt', '--endpoint', endpoint]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/POST \/jobs answered Forbidden \(403\): the request is not signed/);
  });

  it('refuses a signature made with another secret', async () => {
    // Act
    const { code, stderr } = await fanout(['job', 'any', '--endpoint', endpoint, '--sign', 'sigv4'], {
      AWS_SECRET_ACCESS_KEY: 'not-the-emulators',
    });

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/\(403\): the request signature does not match/);
  });

  it('refuses a signed request whose body changed on the way', async () => {
    // Prepare
    const url = new URL(`${endpoint}/jobs`);
    const signer = sigV4Signer('us-east-1', async () => ({ accessKeyId: 'test', secretAccessKey: 'test' }));
    const headers = { 'content-type': 'text/plain' };
    const signed = await signer({
      method: 'POST',
      url,
      headers,
      bodySha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    });
    const { host: _, ...sent } = signed;

    // Act
    const response = await fetch(url, { method: 'POST', headers: sent, body: 'not what was signed\n' });

    // Assess
    expect(response.status).toBe(403);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/does not match/);
  });
});
