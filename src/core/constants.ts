/** Units used across Fanout. */
export const KiB = 1024;
export const MiB = 1024 * KiB;

/**
 * How long a job, its task records and its result are kept after the job ends, in seconds: the setting
 * `jobs.ttl_seconds`, and on the cloud the table's TTL (`JOB_TTL_SECONDS`) and the bucket's lifecycle.
 * One hour, as the Redis-based service Fanout replaces kept a job's status.
 */
export const DEFAULT_JOB_TTL_SECONDS = 60 * 60;

/**
 * On the cloud, how long a job's items and objects are kept after each write while the job may still
 * run, when that is longer than the TTL: DynamoDB's TTL and S3's lifecycle count from an item's last
 * write, not from the job's end, so a TTL of an hour alone would delete the first tasks of a job that runs
 * two. A job ended is made to expire its TTL after its end (its job item: the way to all the rest).
 */
export const RUNNING_JOB_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/** Limits that every entry point (CLI, HTTP, config file) enforces the same way. */
export const LIMITS = {
  minChunkSize: 1 * KiB,
  maxChunkSize: 1 * MiB,
  /** A job's tries per chunk, at most: beyond a few dozen, retrying only hides a chunk that cannot pass. */
  maxAttempts: 100,
  /** A step's timeout, at most: 15 minutes, the longest a Lambda function may run. */
  maxStepTimeoutMs: 15 * 60 * 1000,
} as const;

/** The states a task moves through; see `task.ts` for the allowed transitions. */
export const TaskState = {
  pending: 'pending',
  processing: 'processing',
  retrying: 'retrying',
  completed: 'completed',
  failed: 'failed',
  /** Its job was cancelled before this task's next try started: it never runs again. */
  cancelled: 'cancelled',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** How a job looks from outside, derived from its tasks. */
export const JobStatus = {
  /** Its input is still being split and enqueued: the total is not known yet. */
  ingesting: 'ingesting',
  /** The whole input is enqueued and no try has started. */
  queued: 'queued',
  processing: 'processing',
  completed: 'completed',
  completedWithFailures: 'completed_with_failures',
  /** No chunk completed: its input could not be read or sent, or every chunk failed for good. */
  failed: 'failed',
  /** Cancelled, and nothing of it runs any more. */
  cancelled: 'cancelled',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const ChunkingMode = { lines: 'lines', bytes: 'bytes' } as const;
export type ChunkingMode = (typeof ChunkingMode)[keyof typeof ChunkingMode];

export const Strategy = {
  roundRobin: 'round_robin',
  leastLoaded: 'least_loaded',
  random: 'random',
  weighted: 'weighted',
  /** Each try to the target where its chunk is modelled to cost least (docs/cost.md). */
  cheapest: 'cheapest',
} as const;
export type Strategy = (typeof Strategy)[keyof typeof Strategy];

/**
 * A job's lane: each target serves the higher lanes first, and each lane is owed its share of the
 * target's slots (see `LaneScheduler`, and on the cloud the lanes' own queues and concurrency).
 */
export const Priority = { high: 'high', medium: 'medium', low: 'low' } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];
/** The lanes, highest first. */
export const PRIORITIES: readonly Priority[] = [Priority.high, Priority.medium, Priority.low];
