import type { FileInputSpool } from '../adapters/local/file-input-spool.ts';
import type { BalancerOptions } from '../core/balancer.ts';
import type { BreakerOptions } from '../core/breaker.ts';
import type { Costing } from '../core/cost/costing.ts';
import type { JobView } from '../core/job.ts';
import type { LaneShares } from '../core/lanes.ts';
import type { RetryOptions } from '../core/retry.ts';
import type { HealthStore } from '../ports/health-store.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';

export interface EngineTarget {
  name: string;
  /** Tries this target runs at once: its capacity, which the balancer's load is measured against. */
  workers: number;
  /** Share of the work under the `weighted` strategy. */
  weight: number;
}

export interface EngineOptions {
  targets: EngineTarget[];
  /**
   * Worker threads, shared by all targets. More threads than cores only adds memory and contention, so
   * a target's `workers` are slots on these threads, not threads of its own.
   */
  threads: number;
  balancer: BalancerOptions;
  breaker: BreakerOptions;
  /** Each lane's share of every target's slots (`priority.shares`). */
  laneShares: LaneShares;
  /** What each target's tries are modelled to cost: in the stats, and for the `cheapest` strategy. */
  costing: Costing;
  /** Defaults for jobs; a job may set its own `maxAttempts`. */
  retry: RetryOptions;
  /** Chunks accepted and not yet finished, across all jobs, before ingest waits: the backpressure bound. */
  maxPendingChunks: number;
  /** Bytes of those chunks before ingest waits (see `Admission`). */
  maxPendingBytes: number;
  /** Custom step modules, resolved from `baseDir`. */
  stepModules: string[];
  baseDir: string;
  tasks: TaskStore;
  results: ResultStore;
  /**
   * Where reading a sort of many chunks merges their runs in levels, keeping the runs between (see
   * `mergeSortedRuns`): memory then holds 8 MiB of windows, not 4 KiB per chunk. @default none: in one
   */
  scratch?: ResultStore;
  /** How long a try may run past its deadline (the sum of its steps' timeouts) before its thread is ended. */
  stopGraceMs: number;
  /** How long closing waits for the tries on worker threads to end before it ends the threads. */
  shutdownGraceMs: number;
  /** Fault injection for tests: the chance that a queue hands a message out twice. */
  duplicateRate?: number;
  /** How long a job is kept after it ends (`jobs.ttl_seconds`); then it is forgotten. @default forever */
  jobTtlMs?: number;
  /**
   * What a durable engine keeps on disk besides `tasks` and `results` (which are then durable too): with
   * it, a restarted engine takes up its jobs (`Engine.resume`). @default nothing: jobs live in memory
   */
  kept?: KeptState;
}

/** The `Idempotency-Key`s of `POST /jobs`; a key goes when the job it made expires. */
export type EngineIdempotency = IdempotencyStore & { forgetJob(jobId: string): void | Promise<void> };

/** What a durable engine keeps on disk besides its task and result stores (`fanout serve`'s data directory). */
export interface KeptState {
  /** The data directory, as errors name it. */
  dir: string;
  /** Each job's input, until the job expires: what a restart and a re-run read chunks from. */
  spool: FileInputSpool;
  idempotency: EngineIdempotency;
  /** Each target's breaker as it last changed state: a target that was out stays out across a restart. */
  health: HealthStore;
  /** Small values kept across restarts: the stats of the jobs that expired. */
  meta: { read<T>(key: string): T | undefined; write(key: string, value: unknown): Promise<void> };
  /** Removes the inputs and results of jobs the store does not know: what a crash while one expired left. */
  sweep(known: ReadonlySet<string>): Promise<void>;
  /** Closes what holds the state (and its lock): `Engine.closeStores`. */
  close(): Promise<void>;
}

export interface JobHandle {
  jobId: string;
  /** Settles with the chunk count once the whole input has been read and enqueued. */
  ingested: Promise<number>;
  /** Settles when every chunk has ended, completed or failed; rejects if the input could not be read. */
  done: Promise<JobView>;
}
