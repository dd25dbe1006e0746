/** Arenas glibc may keep: one for the main thread's allocations and one shared by every other thread. */
const MALLOC_ARENAS = '2';

export const usesGlibc = (): boolean => {
  const { header } = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return header?.glibcVersionRuntime !== undefined;
};

/**
 * glibc gives a thread that finds the arenas busy one of its own, up to eight per core, and keeps what
 * is freed in each: with worker threads, libuv's and V8's helpers all allocating, a run held 15–25 MiB
 * that it no longer used (docs/performance.md). glibc reads the cap only from the environment at start,
 * so the command replaces itself (same process, same pid and descriptors) with a copy that has it set.
 * Nothing happens when the variable is already set (a value of the user's, or the copy itself), off
 * glibc, or where Node cannot replace the process.
 */
export const capMallocArenas = (): void => {
  if (process.env.MALLOC_ARENA_MAX !== undefined || typeof process.execve !== 'function') return;
  if (process.platform !== 'linux' || !usesGlibc()) return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    ...process.env,
    MALLOC_ARENA_MAX: MALLOC_ARENAS,
  });
};
