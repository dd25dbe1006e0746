import { describe, expect, it } from 'vitest';
import { ChunkArena, MAX_BLOCK } from '../../src/engine/arena.ts';
import { seededRandom } from '../support/prng.ts';

const MiB = 1 << 20;

const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);

describe('ChunkArena', () => {
  it('copies a chunk into a block of the shared buffer and rounds the block up to a power of two', () => {
    // Prepare
    const arena = new ChunkArena(MiB);
    const chunk = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);

    // Act
    const block = arena.copyIn(chunk) as Uint8Array;

    // Assess
    expect(block.buffer).toBe(arena.buffer);
    expect(block).toEqual(chunk);
    expect(arena.used).toBe(4096);
  });

  it('keeps every block apart from the others while chunks of any size come and go in any order', () => {
    // Prepare
    const arena = new ChunkArena(4 * MiB);
    const random = seededRandom(7);
    const held: { block: Uint8Array; value: number }[] = [];

    // Act
    for (let step = 0; step < 5000; step++) {
      if (held.length > 0 && random() < 0.45) {
        const [gone] = held.splice(Math.floor(random() * held.length), 1);
        arena.release((gone as { block: Uint8Array }).block);
        continue;
      }
      const length = 1 + Math.floor(random() ** 3 * MAX_BLOCK);
      const value = step % 256;
      const block = arena.copyIn(filled(length, value));
      if (block !== undefined) held.push({ block, value });
    }

    // Assess: a block that overlapped another would hold the other's bytes.
    expect(held.length).toBeGreaterThan(0);
    for (const { block, value } of held) expect(block.every((byte) => byte === value)).toBe(true);
  });

  it('merges released blocks back, so that every largest block is free again once all are released', () => {
    // Prepare
    const arena = new ChunkArena(2 * MiB);
    const blocks = Array.from({ length: 2048 }, (_, i) => arena.copyIn(filled(1000, i % 256)) as Uint8Array);

    // Act
    for (const block of blocks.reverse()) arena.release(block);

    // Assess
    expect(arena.used).toBe(0);
    expect(arena.copyIn(filled(MiB, 1))).toBeDefined();
    expect(arena.copyIn(filled(MiB, 2))).toBeDefined();
    expect(arena.copyIn(filled(1, 3))).toBeUndefined();
  });

  it('has no block for a chunk while it is full, and one again once a chunk is released', () => {
    // Prepare
    const arena = new ChunkArena(MiB);
    const first = arena.copyIn(filled(MiB / 2, 1)) as Uint8Array;
    arena.copyIn(filled(MiB / 2, 2));

    // Act
    const whileFull = arena.copyIn(filled(10, 3));
    arena.release(first);
    const afterRelease = arena.copyIn(filled(10, 3));

    // Assess
    expect(whileFull).toBeUndefined();
    expect(afterRelease).toEqual(filled(10, 3));
  });

  it('rounds its capacity up to whole MiB', () => {
    // Act
    const arena = new ChunkArena(MiB + 1);

    // Assess
    expect(arena.buffer.byteLength).toBe(2 * MiB);
  });

  it('refuses a chunk larger than its largest block, and a view that is not a block in use', () => {
    // Prepare
    const arena = new ChunkArena(2 * MiB);
    const block = arena.copyIn(filled(100, 1)) as Uint8Array;
    arena.release(block);

    // Act and assess
    expect(() => arena.copyIn(new Uint8Array(MAX_BLOCK + 1))).toThrow(/larger than the arena's 1048576/);
    expect(() => arena.release(block)).toThrow(/not a block in use/);
    expect(() => arena.release(new Uint8Array(100))).toThrow(/not a block in use/);
  });
});
