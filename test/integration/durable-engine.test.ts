import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { createEngine } from '../../src/engine/from-config.ts';

let dir: string;
let engine: Engine | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-durable-engine-'));
});
afterEach(async () => {
  await engine?.close();
  await engine?.closeStores();
  engine = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('a durable engine', () => {
  it("binds a request's Idempotency-Key to its job as it records the job, not after", async () => {
    // Prepare
    const config = loadConfig({ env: {}, cwd: dir, flags: [] });
    engine = await createEngine(config, { baseDir: dir, dataDir: 'data' });
    const claim = { key: 'k-1', owner: 'request-1' };
    const at = Date.now();
    await engine.idempotency.claim(
      { ...claim, fingerprint: 'f', leaseUntil: at + 60_000, expiresAt: at + 3_600_000 },
      at,
    );
    const input = (async function* () {
      yield new TextEncoder().encode('a line\n');
    })();

    // Act
    const { jobId } = await engine.submit(input, jobRequestFrom(config), { idempotency: claim });
    const held = await engine.idempotency.claim(
      {
        key: 'k-1',
        owner: 'request-2',
        fingerprint: 'f',
        leaseUntil: at + 60_000,
        expiresAt: at + 3_600_000,
      },
      at,
    );

    // Assess
    expect(held).toMatchObject({ owner: 'request-1', jobId });
  });
});
