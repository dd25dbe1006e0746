/**
 * All that `fanout` tunes in its own process. Nothing happens on import: bin/fanout.ts calls
 * `tuneProcess()` before it loads the CLI, and `fanout run` calls `tuneForChunkSize()` once it knows its
 * chunk size. Each setting stays because a measurement shows it pays (docs/performance.md, "Tuning").
 *
 * `FANOUT_TUNING=off` turns all of it off: no compile cache enabled, no variable written and no V8 flag
 * set, so the process runs as Node runs any program. Any other value, or none, leaves it on.
 *
 * Measured and not kept: capping glibc's malloc arenas, which only a re-executed process could do
 * (`MALLOC_ARENA_MAX=2` is left to the user's environment).
 *
 * @module
 */
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

/** Below this chunk size the main thread's per-task garbage, not chunk data, is what a run allocates. */
const SMALL_CHUNK = 16 * 1024;

const tuningOff = (env: NodeJS.ProcessEnv): boolean => env.FANOUT_TUNING === 'off';

/**
 * Enables Node's compile cache and keeps the main thread's young generation at its first size.
 *
 * The compile cache keeps V8's compiled code of the CLI's modules on disk, so that a run after the first
 * parses none of them again: a one-chunk run took 452 against 464 ms, 0.64 against 0.66 s of CPU and
 * 113 against 121 MiB without it on a quiet machine, and 0.70 against 0.82 s of CPU under load (medians
 * of 12 alternated runs each). Its directory goes in the environment because the worker threads read it
 * from there. A NODE_COMPILE_CACHE the user chose is kept; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 *
 * Chunk data lives outside the V8 heap, so a nursery grown to 16 MiB semi-spaces buys the main thread
 * nothing: the 1 GiB run peaked at 219.1 MiB with the growth factor at 1 against 239.6 MiB without (4
 * alternated runs each, spread 210-228 against 222-286 MiB). V8 reads the factor at every scavenge, so
 * it holds when set here; given on Node 24's command line instead, the nursery still grew.
 */
export const tuneProcess = (env: NodeJS.ProcessEnv = process.env): void => {
  if (tuningOff(env)) return;
  env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'node-compile-cache');
  module.enableCompileCache(env.NODE_COMPILE_CACHE);
  setFlagsFromString('--semi-space-growth-factor=1');
};

/**
 * Lets the young generation grow again (V8's default factor) for a job of small chunks: there the tasks
 * are many and their short-lived objects come fast, so a 1 MiB nursery promotes them and the old
 * generation pays. 257 MiB in 1 KiB chunks, no steps: 5.5 s against 8.0 s, 8.1 against 11.7 s of CPU
 * with the factor kept at 1 (medians of 4 alternated runs).
 */
export const tuneForChunkSize = (chunkSize: number, env: NodeJS.ProcessEnv = process.env): void => {
  if (!tuningOff(env) && chunkSize < SMALL_CHUNK) setFlagsFromString('--semi-space-growth-factor=2');
};
