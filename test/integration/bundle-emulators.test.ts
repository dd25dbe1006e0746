import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import { emulatorEnvironment } from '../../src/local/emulator-state.ts';
import { matchOnStderr } from '../support/child-output.ts';
import { type Moto, startMoto } from '../support/moto.ts';
import { type PubsubEmulator, startPubsubEmulator } from '../support/pubsub.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/fanout.js', import.meta.url));
/** 96 lines of 32 bytes: three chunks of 1024 bytes. */
const INPUT = Array.from({ length: 96 }, (_, i) => `${`Line ${i} of the bundle test`.padEnd(31)}\n`).join('');

let moto: Moto;
let pubsub: PubsubEmulator;
let dir: string;

beforeAll(async () => {
  [moto, pubsub, dir] = await Promise.all([
    startMoto(),
    startPubsubEmulator(),
    mkdtemp(join(tmpdir(), 'fanout-bundle-')),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([moto?.stop(), pubsub?.stop(), rm(dir, { recursive: true, force: true })]);
});

describe('the CLI bundle (dist/fanout.js)', () => {
  it.skipIf(!existsSync(BUNDLE))(
    'serves emulator mode on both clouds and runs a job through it',
    async () => {
      // Prepare
      const env = {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FANOUT_'))),
        ...emulatorEnvironment({ moto, pubsub }),
      };
      const child = spawn(NODE, [BUNDLE, 'serve', '--mode', 'emulators', '--port', '0'], { cwd: dir, env });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        const url = await matchOnStderr(child, /the HTTP API listens on (http:\/\/\S+)/);

        // Act
        const accepted = await fetch(`${url}/jobs?chunkSize=1024&pipeline=transform:uppercase`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: INPUT,
        });
        const { jobId } = (await accepted.json()) as { jobId: string };
        await expect
          .poll(async () => ((await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView).status, {
            timeout: 60_000,
            interval: 500,
          })
          .toBe('completed');
        const result = await (await fetch(`${url}/jobs/${jobId}/result`)).text();
        child.kill('SIGTERM');

        // Assess
        expect(accepted.status).toBe(202);
        expect(result).toBe(INPUT.toUpperCase());
        expect(await exited).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
    120_000,
  );
});
