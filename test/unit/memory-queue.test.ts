import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';

const LONG_POLL_MS = 60_000;

describe('MemoryQueue.close', () => {
  it('ends a receive that is waiting on an empty queue, with no messages', async () => {
    // Prepare
    const queue = new MemoryQueue<string>();
    const waiting = queue.receive({ max: 10, waitMs: LONG_POLL_MS, visibilityMs: 1_000 });

    // Act
    queue.close();
    const deliveries = await waiting;

    // Assess: a minute's long poll ended with the close, well inside the test's timeout
    expect(deliveries).toEqual([]);
  });

  it('hands out nothing after it is closed, even what was sent', async () => {
    // Prepare
    const queue = new MemoryQueue<string>();
    await queue.send([{ body: 'before' }]);

    // Act
    queue.close();
    await queue.send([{ body: 'after' }]);
    const deliveries = await queue.receive({ max: 10, waitMs: LONG_POLL_MS, visibilityMs: 1_000 });

    // Assess
    expect(deliveries).toEqual([]);
    expect(await queue.depth()).toBe(2);
  });
});
