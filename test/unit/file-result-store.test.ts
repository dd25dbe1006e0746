import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileResultStore } from '../../src/adapters/local/file-result-store.ts';

describe('FileResultStore.read', () => {
  let dir: string;
  let store: FileResultStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fanout-file-results-'));
    store = new FileResultStore(dir);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const buffersSeen = async (refs: readonly string[], reuseBuffers: boolean): Promise<number> => {
    const seen = new Set<ArrayBufferLike>();
    for await (const data of store.read('job', refs, { reuseBuffers })) seen.add(data.buffer);
    return seen.size;
  };

  it('reads blocks into the buffers of blocks it no longer keeps, given reuseBuffers', async () => {
    // Prepare: 20 outputs of 700 KiB, a block of 1 MiB or more each.
    const refs = await store.put(
      'job',
      Array.from({ length: 20 }, () => randomBytes(700 * 1024)),
    );

    // Act
    const reused = await buffersSeen(refs, true);
    const own = await buffersSeen(refs, false);

    // Assess: the four blocks kept, and the one read into again.
    expect(reused).toBeLessThanOrEqual(5);
    expect(own).toBe(20);
  });
});
