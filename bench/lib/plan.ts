import { availableParallelism } from 'node:os';
import { DEFAULTS } from '../../src/config/schema.ts';
import { KiB, MiB } from '../../src/core/constants.ts';

const QUICK = process.env.BENCH_QUICK === '1';

/** Everything one run of the bench does, in one place so that the report can state it. */
export const PLAN = {
  quick: QUICK,
  seed: 20_240_601,
  pipeline: 'validate,transform:uppercase,compress:gzip',
  /** Record steps on NDJSON of the same sizes as the text inputs (issue 24): a reduce, and a sort. */
  statistics: 'validate:ndjson,calculate:op=statistics:field=score',
  sort: 'validate:ndjson,calculate:op=sort:field=score',
  /** The number the two read, which every record of the NDJSON inputs has (bench/lib/input.ts). */
  recordField: 'score',
  noop: '',
  chunk: 64 * KiB,
  smallChunk: 1 * KiB,
  startupRuns: 3,
  /** Engine and ceiling alternate this many times on the main input; the medians are compared. */
  repeats: QUICK ? 1 : 3,
  targets: DEFAULTS.targets.length,
  workersPerTarget: DEFAULTS.workers_per_target,
  // The ceiling gets exactly as many threads as `fanout run` starts, picked by the rule of src/engine/from-config.ts.
  threads: DEFAULTS.threads || availableParallelism(),
  sizes: QUICK
    ? { main: 32 * MiB, memorySmall: 16 * MiB, memoryLarge: 64 * MiB }
    : { main: 256 * MiB, memorySmall: 100 * MiB, memoryLarge: 1024 * MiB },
  /** `durableRatio`: `fanout run --data-dir` against the in-memory engine, on the same input (issue 23). */
  goals: { ratio: 0.9, perTaskUs: 20, rssMiB: 256, rssGrowth: 1.2, durableRatio: 0.9 },
  /** Above this share of the CPU taken by other processes during a measurement, the report warns. */
  noisyLoad: 0.1,
  /** A disturbed measurement is taken again this many times, after waiting up to quietWaitMs for quiet. */
  noisyRetries: 1,
  quietWaitMs: QUICK ? 5_000 : 30_000,
} as const;
