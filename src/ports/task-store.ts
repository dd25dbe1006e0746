import type { TaskState } from '../core/constants.ts';
import type { JobListCursor } from '../core/job-operations.ts';
import type {
  CancelRequest,
  ClaimAndFinishRequest,
  ClaimRequest,
  ClaimResult,
  FinishRequest,
  ResultRef,
  TaskRecord,
} from '../core/task.ts';

/**
 * How far a job's ingest has gone, written at the end of each ingest step and read by the next: a step
 * that is stopped half-way leaves the last checkpoint, and the next step resumes from it.
 */
export interface IngestCheckpoint {
  /** Where the input lies: the stored body's ref, or the `s3://` source it names. */
  source: string;
  /** Bytes of the decoded input read, up to the end of the last chunk enqueued. */
  offset: number;
  /** Chunks enqueued: the next chunk's index. */
  chunks: number;
  /** In `lines` mode: the line the next chunk starts on, counted from 1. */
  lines?: number;
  /** Segments written: the next segment's number. */
  segments: number;
  /** Steps that moved the checkpoint; a step may move it only from the count it read (a fence). */
  steps: number;
  /** When a step last moved it: what tells an ingest that is alive from one that died. */
  updatedAt: number;
}

/** One chunk of a segment, as ingest sent it. */
export interface SegmentChunk {
  sha256: string;
  bytes: number;
  /** Where the chunk lies in the input store. */
  input: ResultRef;
  /** In `lines` mode: the line of the job's input the chunk starts on, counted from 1. */
  firstLine?: number;
}

/**
 * The chunks of one segment of a job's input, recorded before their messages are sent: what a delivery is
 * checked against, and what a try that was never delivered is sent again from.
 */
export interface SegmentRecord {
  jobId: string;
  segment: number;
  /** The first chunk's index; a segment's chunks are consecutive. */
  firstIndex: number;
  /** When its messages were sent (or about to be). */
  sentAt: number;
  chunks: SegmentChunk[];
}

/** A job as its store keeps it: what it was asked to do and how far its input has been read. */
export interface JobRecord {
  jobId: string;
  createdAt: number;
  /** Known once the whole input has been chunked. */
  chunksTotal?: number;
  /** The options the job runs with, as given (pipeline spec, chunking, targets, ...). */
  options: Record<string, unknown>;
  /** Set when the job failed as a whole (its input could not be read or sent): why, and when. */
  failed?: { reason: string; at: number };
  /** While its input is being split and enqueued in steps: how far that has gone. */
  ingest?: IngestCheckpoint;
  /** When its cancel was accepted: no try of it starts after that. */
  cancelledAt?: number;
  /** When its failed chunks were last re-run. */
  rerunAt?: number;
  /** Its combined result (a calculation's fan-in), once written. */
  combined?: CombinedResult;
}

/**
 * Where a job's combined result lies, and when its computation began: one begun before the job's last
 * re-run (`rerunAt`) is out of date.
 */
export interface CombinedResult {
  ref: ResultRef;
  at: number;
}

export type { JobListCursor };

/**
 * Where tasks and their tries are recorded. `claim`, `finish` and `claimAndFinish` are conditional and
 * atomic: they are what makes duplicate deliveries harmless, so every implementation applies `applyClaim`,
 * `applyFinish` and `applyClaimAndFinish` (or the same conditions in its own query language) in one step.
 */
export interface TaskStore {
  createJob(job: JobRecord): Promise<void>;
  setJobTotal(jobId: string, chunksTotal: number): Promise<void>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /**
   * Records that a job's end was announced, once: true for the one caller that recorded it, false for
   * every later one (and for a job the store does not know). What makes an end notice go out once.
   */
  claimEndNotice(jobId: string, at: number): Promise<boolean>;
  /** Marks a job failed as a whole, with the reason; a job the store does not know stays unknown. */
  failJob(jobId: string, reason: string, at: number): Promise<void>;
  /** Records new tasks as pending; a task that already exists is left as it is. */
  putTasks(tasks: readonly TaskRecord[]): Promise<void>;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Ends the claimed try; false when the try was not the one holding the claim (a duplicate). */
  finish(request: FinishRequest): Promise<boolean>;
  /**
   * Records a try that ran without a claim, start to end, in one write; false when the task was not waiting
   * for it (another delivery holds or ended it: a duplicate).
   */
  claimAndFinish(request: ClaimAndFinishRequest): Promise<boolean>;
  getTask(jobId: string, index: number): Promise<TaskRecord | undefined>;
  /** A job's tasks in index order, optionally only those in one state. */
  listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[]>;
  /**
   * Moves a job's ingest checkpoint to `next`, only if the step count it holds is still `previousSteps`
   * (0 for a job with no checkpoint yet); false when another step moved it first or the job is unknown.
   */
  checkpoint(jobId: string, previousSteps: number, next: IngestCheckpoint): Promise<boolean>;
  /** Records a segment's chunks; writing the same segment again replaces it. */
  putSegment(segment: SegmentRecord): Promise<void>;
  /** The segment that holds chunk `index`, when ingest recorded one. */
  segmentOf(jobId: string, index: number): Promise<SegmentRecord | undefined>;
  /** A job's segments in index order. */
  listSegments(jobId: string): Promise<SegmentRecord[]>;
  /** Jobs created and not retired yet, oldest first: the ones that may still have work waiting. */
  listActiveJobs(): Promise<JobRecord[]>;
  /** Takes a job off the active list, once nothing of it can be waiting any more. */
  retireJob(jobId: string): Promise<void>;
  /**
   * Records a re-run of a job's failed chunks at `at` and puts the job back on the active list, since it
   * has work waiting again; a job the store does not know stays unknown.
   */
  rerunJob(jobId: string, at: number): Promise<void>;
  /** Records where a job's combined result lies; the last record stands. A job the store does not know stays unknown. */
  setJobResult(jobId: string, combined: CombinedResult): Promise<void>;
  /** Jobs newest first (ties by id), at most `limit`, starting after `after`. */
  listJobs(page: { limit: number; after?: JobListCursor }): Promise<JobRecord[]>;
  /**
   * Records that a job was cancelled, at `at` unless it was already: the job as it is then, or undefined
   * for a job the store does not know.
   */
  cancelJob(jobId: string, at: number): Promise<JobRecord | undefined>;
  /** Applies `applyCancel` atomically: false when the task was not waiting for the request's try. */
  cancelTask(request: CancelRequest): Promise<boolean>;
  /** Applies `applyReopen` atomically: the task re-opened, or undefined when it had not failed. */
  reopenTask(jobId: string, index: number, now: number): Promise<TaskRecord | undefined>;
  /**
   * Forgets a job that has expired: its record, its tasks and segments, and its place on the active
   * list; afterwards the store knows it no more than a job it never had. A job it does not know is no
   * error. The cloud leaves this to the table's TTL; the embedded engine's sweeper calls it.
   */
  deleteJob(jobId: string): Promise<void>;
}
