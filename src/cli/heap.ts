import { setFlagsFromString } from 'node:v8';

/**
 * Keeps the main thread's young generation at its initial size (1 MiB semi-spaces); V8 would otherwise
 * grow it to 32 MiB semi-spaces, 64 MiB in all, as the engine's allocation rate rises. Chunk data lives
 * outside the V8 heap, so a large nursery buys no speed here, only memory.
 *
 * A heap's limits are fixed when its isolate is created, so `--max-semi-space-size` set here would not
 * reach this thread's heap at all: it would only shrink the worker threads' heaps, which start later
 * (that is what this file did before). The growth factor is read at every scavenge, so it does reach
 * this heap. It reaches the workers' heaps too; theirs are capped by the pool's `resourceLimits` anyway.
 * Imported first by bin/fanout.ts, before the heap has grown.
 */
setFlagsFromString('--semi-space-growth-factor=1');
