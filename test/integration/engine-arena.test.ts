import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.ts';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';

const fixtures = fileURLToPath(new URL('../fixtures/steps/', import.meta.url));
/** 30 lines of 1 KiB: 30 chunks of one line each at a chunk size of 1 KiB. */
const LINES = Array.from({ length: 30 }, (_, i) => `${`line ${i} `.padEnd(1023, String(i % 10))}\n`);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-arena-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const collect = async (source: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
};

describe("the engine's chunk arena", () => {
  it('gives every try the chunk as it was read, even after a step changed its input in place', async () => {
    // Prepare
    const config = loadConfig({
      env: {
        FANOUT_CHUNKING_SIZE: '1024',
        FANOUT_PIPELINE: 'reverse-then-fail',
        FANOUT_RETRY_BASE_DELAY_MS: '1',
      },
      cwd: dir,
    });
    const engine = await createEngine(
      { ...config, steps: [`${fixtures}reverse-then-fail.ts`] },
      { baseDir: dir },
    );

    try {
      // Act
      const handle = await engine.submit(
        Readable.from([Buffer.from(LINES.join(''))]),
        jobRequestFrom(config),
      );
      const view = await handle.done;
      const result = await collect(engine.readResult(handle.jobId));

      // Assess: a second try that got the first try's reversed bytes would give them back in order.
      expect(view.chunksCompleted).toBe(30);
      expect(view.stats.retries).toBe(30);
      const expected = LINES.map((line) => Buffer.from(line).reverse());
      expect(result).toEqual(Buffer.concat(expected));
    } finally {
      await engine.close();
    }
  });
});
