import { setImmediate as settled } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { KiB } from '../../src/core/constants.ts';
import { Admission } from '../../src/engine/admission.ts';

const chunk = (bytes: number, fill = 1): Uint8Array => new Uint8Array(bytes).fill(fill);

/** An admit under way, with what it has come to so far. */
const admitting = (admission: Admission, data: Uint8Array) => {
  const state: { done: boolean; block?: Uint8Array | undefined } = { done: false };
  const promise = admission.admit(data).then((block) => {
    state.done = true;
    state.block = block;
    return block;
  });
  return { state, promise };
};

describe('Admission.admit', () => {
  it('copies a chunk into the arena and counts it as pending', async () => {
    // Prepare
    const admission = new Admission({ maxPendingChunks: 4, maxPendingBytes: 64 * KiB });
    const data = chunk(3 * KiB, 7);

    // Act
    const block = await admission.admit(data);

    // Assess
    expect(block?.buffer).toBe(admission.arena.buffer);
    expect(block).toEqual(data);
    expect(admission.pendingChunks).toBe(1);
    expect(admission.arena.used).toBe(4 * KiB);
  });

  it('holds back a chunk once as many chunks as allowed are pending', async () => {
    // Prepare
    const admission = new Admission({ maxPendingChunks: 2, maxPendingBytes: 64 * KiB });
    await admission.admit(chunk(KiB));
    await admission.admit(chunk(KiB));

    // Act
    const third = admitting(admission, chunk(KiB));
    await settled();

    // Assess
    expect(third.state.done).toBe(false);
    expect(admission.pendingChunks).toBe(2);
  });

  it('holds back a chunk once the pending chunks hold the bytes allowed, the last one allowed over', async () => {
    // Prepare: the second chunk goes over the bound, since the bytes were under it when it came
    const admission = new Admission({ maxPendingChunks: 100, maxPendingBytes: 4 * KiB });
    await admission.admit(chunk(3 * KiB));
    const second = await admission.admit(chunk(2 * KiB));

    // Act
    const third = admitting(admission, chunk(KiB));
    await settled();

    // Assess
    expect(second).toHaveLength(2 * KiB);
    expect(third.state.done).toBe(false);
    expect(admission.pendingChunks).toBe(2);
  });
});

describe('Admission.release', () => {
  it('gives the block back and lets in one waiting chunk, the first that came', async () => {
    // Prepare
    const admission = new Admission({ maxPendingChunks: 1, maxPendingBytes: 64 * KiB });
    const held = (await admission.admit(chunk(KiB, 1))) as Uint8Array;
    const first = admitting(admission, chunk(KiB, 2));
    const second = admitting(admission, chunk(KiB, 3));
    await settled();

    // Act
    admission.release(held);
    await settled();

    // Assess
    expect(first.state.done).toBe(true);
    expect(first.state.block?.[0]).toBe(2);
    expect(second.state.done).toBe(false);
    expect(admission.pendingChunks).toBe(1);
    expect(admission.arena.used).toBe(KiB);
  });

  it('frees the bytes of the chunk released, so a chunk held back by bytes comes in', async () => {
    // Prepare
    const admission = new Admission({ maxPendingChunks: 100, maxPendingBytes: 4 * KiB });
    const big = (await admission.admit(chunk(4 * KiB))) as Uint8Array;
    const next = admitting(admission, chunk(3 * KiB));
    await settled();
    const heldBack = next.state.done;

    // Act
    admission.release(big);
    const block = await next.promise;

    // Assess
    expect(heldBack).toBe(false);
    expect(block).toHaveLength(3 * KiB);
    expect(admission.pendingChunks).toBe(1);
  });
});

describe('Admission.stop and close', () => {
  it('admits nothing once stopped', async () => {
    // Prepare
    const admission = new Admission({ maxPendingChunks: 4, maxPendingBytes: 64 * KiB });
    admission.stop();

    // Act
    const block = await admission.admit(chunk(KiB));

    // Assess
    expect(block).toBeUndefined();
    expect(admission.pendingChunks).toBe(0);
    expect(admission.arena.used).toBe(0);
  });

  it('answers a chunk waiting for room with nothing when a chunk ends after the stop', async () => {
    // Prepare
    const admission = new Admission({ maxPendingChunks: 1, maxPendingBytes: 64 * KiB });
    const held = (await admission.admit(chunk(KiB))) as Uint8Array;
    const waiting = admitting(admission, chunk(KiB));

    // Act
    admission.stop();
    await settled();
    const beforeRelease = waiting.state.done;
    admission.release(held);
    const block = await waiting.promise;

    // Assess
    expect(beforeRelease).toBe(false);
    expect(block).toBeUndefined();
    expect(admission.pendingChunks).toBe(0);
  });

  it('lets go of every chunk waiting for room at close, with nothing', async () => {
    // Prepare
    const admission = new Admission({ maxPendingChunks: 1, maxPendingBytes: 64 * KiB });
    await admission.admit(chunk(KiB));
    const waiting = [admitting(admission, chunk(KiB)), admitting(admission, chunk(2 * KiB))];

    // Act
    admission.close();
    const blocks = await Promise.all(waiting.map((w) => w.promise));

    // Assess
    expect(blocks).toEqual([undefined, undefined]);
    expect(admission.pendingChunks).toBe(1);
  });
});
