import { setFlagsFromString } from 'node:v8';

/**
 * The main thread's young generation starts at 1 MiB semi-spaces and is kept there; V8 would otherwise
 * grow it up to 32 MiB semi-spaces, 64 MiB in all, as the engine's allocation rate rises. Chunk data
 * lives outside the V8 heap, so on a job of large chunks a large nursery buys no speed, only memory.
 *
 * A heap's limits are fixed when its isolate is created, so `--max-semi-space-size` set here would not
 * reach this thread's heap at all: it would only shrink the worker threads' heaps, which start later
 * (that is what this file did before). The growth factor is read at every scavenge, so it does reach
 * this heap. It reaches the workers' heaps too; theirs are capped by the pool's `resourceLimits` anyway.
 * Imported first by bin/fanout.ts, before the heap has grown.
 */
setFlagsFromString('--semi-space-growth-factor=1');

/** Below this chunk size the main thread's per-task garbage, not chunk data, is what a run allocates. */
const SMALL_CHUNK = 16 * 1024;

/**
 * Lets the young generation grow again (V8's default factor) for a job of small chunks: there the tasks
 * are many and their short-lived objects come fast, so a 1 MiB nursery promotes them and the old
 * generation pays (1 KiB chunks: about a third more time per task, measured in docs/performance.md).
 */
export const sizeYoungGeneration = (chunkSize: number): void => {
  if (chunkSize < SMALL_CHUNK) setFlagsFromString('--semi-space-growth-factor=2');
};
