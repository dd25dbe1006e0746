import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Whether a process with this id runs on this machine; one we may not signal runs too. */
export const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the entries of `dir` that a process now gone left behind: those whose name `pattern` matches
 * with the owner's pid as its first group. Another live process's entries stay, so several servers can
 * share a directory. Returns the names removed.
 */
export const removeOrphans = async (dir: string, pattern: RegExp): Promise<string[]> => {
  const names = await entries(dir);
  const orphans = names.filter((name) => {
    const pid = Number(pattern.exec(name)?.[1]);
    return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isRunning(pid);
  });
  await Promise.all(orphans.map((name) => rm(join(dir, name), { recursive: true, force: true })));
  return orphans;
};

/**
 * Removes the entries of `dir` whose name `pattern` matches with an id `known` does not hold as its first
 * group: what was left of things deleted elsewhere. Returns the names removed.
 */
export const removeUnknown = async (
  dir: string,
  pattern: RegExp,
  known: ReadonlySet<string>,
): Promise<string[]> => {
  const names = await entries(dir);
  const unknown = names.filter((name) => {
    const id = pattern.exec(name)?.[1];
    return id !== undefined && !known.has(id);
  });
  await Promise.all(unknown.map((name) => rm(join(dir, name), { recursive: true, force: true })));
  return unknown;
};

/** The names in `dir`; none when it does not exist. */
const entries = (dir: string): Promise<string[]> =>
  readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
