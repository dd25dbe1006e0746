import type { ChunkingMode } from '../core/constants.ts';
import type { ErrorRecord } from '../core/errors.ts';
import type { StepSpec } from '../core/pipeline/step.ts';
import type { TryMessage } from '../core/settlement.ts';

/** What travels through a target's queue: one try of one chunk, with the chunk itself. */
export interface TaskMessage extends TryMessage {
  /** The chunk, in its block of the engine's arena: the same view for every try. */
  data: Uint8Array;
}

/** How a worker thread builds a job's pipeline; built once per thread and kept under `key`. */
export interface PipelineRecipe {
  key: string;
  steps: StepSpec[];
  modules: readonly string[];
  mode: ChunkingMode;
}

/**
 * Tries of one job for a worker thread. What differs per task comes as columns in task order: posting an
 * array of numbers costs a fraction of posting an object per task, which is most of a small task's cost.
 */
export interface WorkerBatch {
  /** The batch's number, for the deadline board (deadlines.ts). */
  id: number;
  recipe: PipelineRecipe;
  target: string;
  jobId: string;
  jobStartedAt: number;
  indexes: number[];
  attempts: number[];
  /** Where each task's chunk lies in the arena the thread shares with the engine, and its length. */
  offsets: number[];
  lengths: number[];
  /** The chunks' SHA-256 digests taken at ingest, hex, back to back. */
  sha256: string;
  /** In `lines` mode: the line of the job's input each chunk starts on; 0 where unknown. */
  firstLines: number[];
}

/** What every worker thread shares with the main thread from its start. */
export interface WorkerData {
  /** The chunk arena (arena.ts). */
  arena: SharedArrayBuffer;
  /** The deadline board (deadlines.ts). */
  deadlines: SharedArrayBuffer;
}

const SHA256_HEX = 64;

/** The `i`th digest of SHA-256 digests written in hex back to back, as `WorkerBatch.sha256` holds them. */
export const digestAt = (digests: string, i: number): string =>
  digests.slice(i * SHA256_HEX, (i + 1) * SHA256_HEX);

export type TaskOutcome =
  | { ok: true; length: number; rejected: number; rejectsLength: number; durationMs: number }
  | { ok: false; error: ErrorRecord; durationMs: number };

/** A batch's outcomes, in columns like the batch. */
export interface WorkerReply {
  workerId: string;
  /** Per task: the length of its output; 0 where the task failed, its error being in `errors`. */
  lengths: number[];
  /** Per task: how many records its `check` steps rejected, and the length of those rejects as NDJSON. */
  rejected: number[];
  rejectsLengths: number[];
  durationsMs: number[];
  /** The failed tasks' errors, by their position in the batch. */
  errors: Record<number, ErrorRecord>;
  /**
   * The successful outputs back to back, in task order, each followed by its rejects: one buffer to
   * transfer, not one per task.
   */
  output: Uint8Array;
}

/** The reply's outcomes as one object per task, for the main thread to settle. */
export const outcomesOf = (reply: WorkerReply): TaskOutcome[] =>
  reply.lengths.map((length, i) => {
    const durationMs = reply.durationsMs[i] as number;
    const error = reply.errors[i];
    if (error !== undefined) return { ok: false, error, durationMs };
    const rejected = reply.rejected[i] as number;
    return { ok: true, length, rejected, rejectsLength: reply.rejectsLengths[i] as number, durationMs };
  });
