import { setTimeout as sleep } from 'node:timers/promises';
import type { Balancer } from '../core/balancer.ts';
import { BreakerState } from '../core/breaker.ts';
import type { Probe, Readiness, StuckTry, TargetReadiness } from '../ports/readiness.ts';
import type { TaskStore } from '../ports/task-store.ts';

/** A job id no job has: reading it is a task store's probe, one key lookup. */
export const PROBE_JOB_ID = 'readiness-probe';

/** How long a probe may take before it counts as failed: a readiness check answers, never hangs. */
export const PROBE_TIMEOUT_MS = 3000;

/** Runs one probe, bounded by `timeoutMs`. */
export const probe = async (check: () => Promise<unknown>, timeoutMs = PROBE_TIMEOUT_MS): Promise<Probe> => {
  const timer = new AbortController();
  const timedOut = sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
    throw new Error(`no answer within ${timeoutMs} ms`);
  });
  try {
    await Promise.race([check(), timedOut]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message || error.name : String(error) };
  } finally {
    timer.abort();
  }
};

/** A task store's probe: one key lookup of a job no job has. */
export const taskStoreProbe = (tasks: Pick<TaskStore, 'getJob'>) => (): Promise<unknown> =>
  tasks.getJob(PROBE_JOB_ID);

/**
 * Probes the stores and every target's queue at once, and puts each target's breaker, as the balancer
 * holds it, beside its queue. A try `stuck` on a thread keeps the service from being ready.
 */
export const readiness = async (
  stores: Record<string, () => Promise<unknown>>,
  balancer: Pick<Balancer, 'loads'>,
  queueOf: (target: string) => { probe(): Promise<unknown> },
  stuck: readonly StuckTry[] = [],
): Promise<Readiness> => {
  const targets = balancer.loads();
  const [storeProbes, queueProbes] = await Promise.all([
    Promise.all(Object.values(stores).map((check) => probe(check))),
    Promise.all(targets.map((target) => probe(() => queueOf(target.name).probe()))),
  ]);
  const byTarget = targets.map((target, i): [string, TargetReadiness] => {
    const queue = queueProbes[i] as Probe;
    const accepting = queue.ok && target.breaker !== BreakerState.open;
    return [target.name, { queue, breaker: target.breaker, accepting }];
  });
  return {
    ready: storeProbes.every((p) => p.ok) && byTarget.some(([, t]) => t.accepting) && stuck.length === 0,
    stores: Object.fromEntries(Object.keys(stores).map((name, i) => [name, storeProbes[i] as Probe])),
    targets: Object.fromEntries(byTarget),
    stuck: [...stuck],
  };
};
