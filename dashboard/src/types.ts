/** What the page reads of the HTTP API (docs/http-api.md), as the API answers it. */

export const JOB_STATUSES = [
  'ingesting',
  'queued',
  'processing',
  'completed',
  'completed_with_failures',
  'failed',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface Durations {
  count: number;
  avg: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

export interface JobTargetStats {
  attempts: number;
  completed: number;
  share: number;
  retryableFailures: number;
  permanentFailures: number;
  redistributedIn: number;
  durationMs: Durations;
}

export interface JobStats {
  tasks: number;
  states: Record<string, number>;
  attempts: number;
  retries: number;
  redistributed: number;
  durationMs: Durations;
  targets: Record<string, JobTargetStats>;
  costUsd?: number;
}

export interface JobView {
  jobId: string;
  status: JobStatus;
  priority: string;
  chunksTotal: number | null;
  chunksCompleted: number;
  chunksFailed: number;
  chunksCancelled: number;
  percentComplete: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  /** When it reached the status it ended in; null while it runs. */
  completedAt: string | null;
  error?: string;
  stats?: JobStats;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerChange {
  at: string;
  from: BreakerState;
  to: BreakerState;
}

export interface TargetFigures {
  breaker: BreakerState;
  changes: BreakerChange[];
  inFlight?: number;
  load?: number;
  attempts: number;
  completed: number;
  retryableFailures: number;
  permanentFailures: number;
  successRate: number;
  durationMs: Durations;
}

export type Targets = Record<string, TargetFigures>;

export interface Redistribution {
  index: number;
  attempt: number;
  from: string;
  to: string;
}

export interface Attempt {
  attempt: number;
  target: string;
  outcome: string;
  error?: { name: string; message: string; retryable: boolean };
}

export interface Task {
  index: number;
  state: string;
  error?: { message: string };
  attempts: Attempt[];
}

export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export interface Timeline {
  bucketMs: number;
  buckets: { at: string; tries: number; completed: number; failed: number }[];
}
