import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { FileResultStore } from '../adapters/local/file-result-store.ts';
import { MemoryTaskStore } from '../adapters/local/memory-task-store.ts';
import { balancerOptions, breakerOptions, costing, retryOptions } from '../config/core-options.ts';
import type { Config } from '../config/schema.ts';
import { openDataDir } from './data-dir.ts';
import { Engine } from './engine.ts';
import type { EngineOptions } from './engine-options.ts';

/**
 * The embedded engine as the configuration describes it: tasks in memory and results on local disk, or,
 * given `dataDir`, everything in that data directory (see `openDataDir`), where a restart finds it.
 */
export const createEngine = async (
  config: Config,
  { baseDir = process.cwd(), dataDir, ...overrides }: Partial<EngineOptions> & { dataDir?: string } = {},
): Promise<Engine> => {
  const results =
    dataDir === undefined ? new FileResultStore(resolve(baseDir, config.results_dir)) : undefined;
  // Results of this process alone, which removeOrphanResults clears after a crash, can hold a merge's too.
  const stores =
    results !== undefined
      ? { tasks: new MemoryTaskStore(), results, scratch: results }
      : await openDataDir(resolve(baseDir, dataDir as string));
  return Engine.create({
    threads: config.threads || availableParallelism(),
    targets: config.targets.map((name) => ({
      name,
      workers: config.workers_per_target,
      weight: config.weights[name] ?? 1,
    })),
    balancer: balancerOptions(config),
    breaker: breakerOptions(config),
    laneShares: config.priority.shares,
    costing: costing(config),
    retry: retryOptions(config),
    maxPendingChunks: config.max_pending_chunks,
    maxPendingBytes: config.max_pending_bytes,
    stopGraceMs: config.step_stop_grace_ms,
    shutdownGraceMs: config.shutdown_grace_ms,
    stepModules: config.steps,
    baseDir,
    jobTtlMs: config.jobs.ttl_seconds * 1000,
    ...stores,
    ...overrides,
  });
};

/** Removes the result files that engines of processes now gone left in the configured directory. */
export const removeOrphanResults = (config: Config, baseDir = process.cwd()): Promise<string[]> =>
  FileResultStore.removeOrphans(resolve(baseDir, config.results_dir));
