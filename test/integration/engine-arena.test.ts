import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { JobView } from '../../src/core/job.ts';
import { createEngine } from '../../src/engine/from-config.ts';
import { fileBlocks } from '../../src/util/file-blocks.ts';
import { seededRandom } from '../support/prng.ts';

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

/** Runs the 30 lines through a custom step module with 1 KiB chunks; gives the job's view and result. */
const runLines = async (
  step: string,
  env: Record<string, string>,
): Promise<{ view: JobView; result: Buffer }> => {
  const config = loadConfig({ env: { FANOUT_CHUNKING_SIZE: '1024', ...env }, cwd: dir });
  const engine = await createEngine({ ...config, steps: [`${fixtures}${step}.ts`] }, { baseDir: dir });
  try {
    const handle = await engine.submit(Readable.from([Buffer.from(LINES.join(''))]), jobRequestFrom(config));
    const view = await handle.done;
    return { view, result: await collect(engine.readResult(handle.jobId)) };
  } finally {
    await engine.close();
  }
};

const REVERSED = Buffer.concat(LINES.map((line) => Buffer.from(line).reverse()));

describe("the engine's chunk arena", () => {
  it('gives every try the chunk as it was read, even after a step changed its input in place', async () => {
    // Prepare
    const env = { FANOUT_PIPELINE: 'reverse-then-fail', FANOUT_RETRY_BASE_DELAY_MS: '1' };

    // Act
    const { view, result } = await runLines('reverse-then-fail', env);

    // Assess: a second try that got the first try's reversed bytes would give them back in order.
    expect(view.chunksCompleted).toBe(30);
    expect(view.stats.retries).toBe(30);
    expect(result).toEqual(REVERSED);
  });

  it('keeps the batches a thread holds apart while a step waits', async () => {
    // Prepare: one thread holds two batches at once; the custom step makes it copy each batch's chunks.
    const env = { FANOUT_PIPELINE: 'chaos:delay=5,reverse', FANOUT_THREADS: '1' };

    // Act
    const { view, result } = await runLines('reverse', env);

    // Assess: a batch that started while another waited would have overwritten that one's chunks.
    expect(view.chunksCompleted).toBe(30);
    expect(result).toEqual(REVERSED);
  });

  it('cuts a file read in reused 1 MiB blocks into the same bytes, chunks of the largest size included', async () => {
    // Prepare: lines from a few bytes to 1.5 MiB, so that chunks start in one block and end in the next.
    const random = seededRandom(11);
    const lines: Buffer[] = [];
    for (let bytes = 0; bytes < 7 * 2 ** 20; ) {
      const length = random() < 0.05 ? Math.floor(random() * 1.5 * 2 ** 20) : Math.floor(random() * 200);
      const line = Buffer.alloc(length + 1, 97 + (lines.length % 26));
      line[length] = 0x0a;
      lines.push(line);
      bytes += line.byteLength;
    }
    const input = Buffer.concat(lines);
    const path = join(dir, 'input.txt');
    await writeFile(path, input);
    const config = loadConfig({
      env: { FANOUT_CHUNKING_SIZE: String(2 ** 20), FANOUT_PIPELINE: '' },
      cwd: dir,
    });
    const engine = await createEngine(config, { baseDir: dir });

    try {
      // Act
      const handle = await engine.submit(fileBlocks(path), jobRequestFrom(config));
      const view = await handle.done;
      const result = await collect(engine.readResult(handle.jobId));

      // Assess
      expect(view.chunksTotal).toBeGreaterThan(7);
      expect(result.equals(input)).toBe(true);
    } finally {
      await engine.close();
    }
  });
});
