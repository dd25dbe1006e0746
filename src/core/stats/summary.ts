import { JobStatus } from '../constants.ts';
import { emptyStats, mergeStats, type StatsData } from './stats.ts';

/** What one stream record adds to a job's summary. */
export interface StatsDelta {
  jobId: string;
  /**
   * The stream shard the record came from, or any key under which sequence numbers only grow: a record
   * whose sequence number is not above the highest one applied under its key has been applied already.
   */
  shard: string;
  /** A decimal string, of any length. */
  sequenceNumber: string;
  /** What the record's task transition counts; absent for a record that only tells the job's total. */
  data?: StatsData;
  /** The job's number of chunks, once ingest has read all its input. */
  chunksTotal?: number;
}

export type FinishedStatus =
  | typeof JobStatus.completed
  | typeof JobStatus.completedWithFailures
  | typeof JobStatus.failed
  | typeof JobStatus.cancelled;

/** A job's stats as the stats function keeps them, with what makes applying them exact. */
export interface JobSummary {
  jobId: string;
  stats: StatsData;
  /** Per shard, the highest sequence number applied. */
  sequences: Record<string, string>;
  chunksTotal?: number;
  status?: FinishedStatus;
  finishedAt?: number;
  /** When the summary may be deleted (TTL), epoch seconds; set when the job finishes. */
  expiresAt?: number;
}

export interface SummaryUpdate {
  summary: JobSummary;
  /** The sum of the deltas applied now: what the overall stats gain. */
  added: StatsData;
  applied: number;
  /** Deltas already applied before, left out. */
  skipped: number;
  /** True when this update finished the job. */
  finished: boolean;
}

/** Compares two decimal sequence numbers of any length, as integers. */
export const compareSequenceNumbers = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

export const emptySummary = (jobId: string): JobSummary => ({ jobId, stats: emptyStats(), sequences: {} });

/** How a job's chunks ended, once every one has: what its summary records as finished. */
const finishedStatus = (summary: JobSummary): FinishedStatus | undefined => {
  const { completed, failed, cancelled } = summary.stats.states;
  const total = summary.chunksTotal;
  if (total === undefined || completed + failed + cancelled < total) return undefined;
  if (cancelled > 0) return JobStatus.cancelled;
  if (completed === total) return JobStatus.completed;
  return completed === 0 ? JobStatus.failed : JobStatus.completedWithFailures;
};

/**
 * Applies a job's deltas to its summary, each exactly once: a delta at or below its shard's highest
 * applied sequence number is skipped. Finishes the job when its last chunk has ended and its total is
 * known, whichever of the two comes last; a finished job expires `ttlSeconds` after `now` (ms).
 */
export const applyDeltas = (
  current: JobSummary,
  deltas: readonly StatsDelta[],
  now: number,
  ttlSeconds: number,
): SummaryUpdate => {
  const sequences = { ...current.sequences };
  const summary: JobSummary = { ...current, sequences };
  let added = emptyStats();
  let applied = 0;
  const ordered = [...deltas].sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
  for (const delta of ordered) {
    const highest = sequences[delta.shard];
    if (highest !== undefined && compareSequenceNumbers(delta.sequenceNumber, highest) <= 0) continue;
    sequences[delta.shard] = delta.sequenceNumber;
    if (delta.data) added = mergeStats(added, delta.data);
    if (delta.chunksTotal !== undefined) summary.chunksTotal = delta.chunksTotal;
    applied++;
  }
  summary.stats = mergeStats(current.stats, added);
  const status = finishedStatus(summary);
  const finished = status !== undefined && current.status === undefined;
  if (finished) {
    summary.status = status;
    summary.finishedAt = now;
    summary.expiresAt = Math.floor(now / 1000) + ttlSeconds;
  }
  // A re-run of its failed chunks starts a finished job again: it finishes anew when they end.
  const { status: _status, finishedAt: _at, ...running } = summary;
  return {
    summary: status === undefined ? running : summary,
    added,
    applied,
    skipped: deltas.length - applied,
    finished,
  };
};
