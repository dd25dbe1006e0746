import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

interface CpuSnapshot {
  /** Jiffies every CPU spent, busy or idle, since boot. */
  total: number;
  busy: number;
  /** Jiffies of this process's threads and of the children it has reaped (the fanout runs). */
  own: number;
}

const snapshot = (): CpuSnapshot | undefined => {
  try {
    const cpu =
      readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    const total = cpu.slice(0, 8).reduce((sum, value) => sum + value, 0);
    // The command name in field 2 may hold spaces; the fields after its closing parenthesis do not.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0);
    return { total, busy: total - idle, own };
  } catch {
    return undefined;
  }
};

/**
 * Starts watching for other processes competing for the CPU. The returned function gives the share of
 * all CPU capacity they used since, 0 to 1, or undefined where /proc is missing. On a 2-core machine a
 * sibling job skews every figure, so each measurement carries this number.
 */
export const watchForeignLoad = (): (() => number | undefined) => {
  const before = snapshot();
  return () => {
    const after = snapshot();
    if (before === undefined || after === undefined || after.total === before.total) return undefined;
    const foreign = after.busy - before.busy - (after.own - before.own);
    return Math.max(0, foreign / (after.total - before.total));
  };
};

/** Waits, up to `maxMs`, for a `windowMs` spell in which other processes use at most `threshold` of the CPU. */
export const waitForQuiet = async (
  threshold: number,
  maxMs: number,
  windowMs = 2000,
): Promise<number | undefined> => {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const foreign = watchForeignLoad();
    await sleep(windowMs);
    const load = foreign();
    if (load === undefined || load <= threshold || Date.now() >= deadline) return load;
  }
};
