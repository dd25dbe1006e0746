import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createEngine } from '../../src/engine/from-config.ts';

/** 40 lines of 1 KiB: 40 chunks of one line each at a chunk size of 1 KiB. */
const INPUT = Array.from({ length: 40 }, (_, i) => `${`line ${i}`.padEnd(1023, '.')}\n`).join('');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-backpressure-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the input with the given FANOUT_ settings; returns the most chunks the engine held at once. */
const mostPending = async (env: Record<string, string>): Promise<{ most: number; completed: number }> => {
  const config = loadConfig({
    env: { FANOUT_CHUNKING_SIZE: '1024', FANOUT_PIPELINE: 'validate,chaos:delay=5', ...env },
    cwd: dir,
  });
  const engine = await createEngine(config, { baseDir: dir });
  try {
    let most = 0;
    // Emitted before the try's chunk leaves the count, so each sample is a level the engine reached.
    engine.events.on('attempt', () => {
      most = Math.max(most, engine.pendingChunks);
    });
    const handle = await engine.submit(Readable.from([Buffer.from(INPUT)]), jobRequestFrom(config));
    const view = await handle.done;
    return { most, completed: view.chunksCompleted };
  } finally {
    await engine.close();
  }
};

describe('backpressure', () => {
  it('holds no more chunks than max_pending_bytes has room for', async () => {
    // Act
    const { most, completed } = await mostPending({ FANOUT_MAX_PENDING_BYTES: '4096' });

    // Assess
    expect(completed).toBe(40);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('holds no more chunks than max_pending_chunks', async () => {
    // Act
    const { most, completed } = await mostPending({ FANOUT_MAX_PENDING_CHUNKS: '3' });

    // Assess
    expect(completed).toBe(40);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(3);
  });

  it('admits a chunk larger than max_pending_bytes when nothing else is held', async () => {
    // Act
    const { completed } = await mostPending({ FANOUT_MAX_PENDING_BYTES: '100' });

    // Assess
    expect(completed).toBe(40);
  });
});
