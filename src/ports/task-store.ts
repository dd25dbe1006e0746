import type { TaskState } from '../core/constants.ts';
import type {
  ClaimAndFinishRequest,
  ClaimRequest,
  ClaimResult,
  FinishRequest,
  TaskRecord,
} from '../core/task.ts';

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
}

/**
 * Where tasks and their tries are recorded. `claim`, `finish` and `claimAndFinish` are conditional and
 * atomic: they are what makes duplicate deliveries harmless, so every implementation applies `applyClaim`,
 * `applyFinish` and `applyClaimAndFinish` (or the same conditions in its own query language) in one step.
 */
export interface TaskStore {
  createJob(job: JobRecord): Promise<void>;
  setJobTotal(jobId: string, chunksTotal: number): Promise<void>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
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
}
