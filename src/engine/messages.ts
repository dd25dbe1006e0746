import type { ChunkingMode } from '../core/constants.ts';
import type { ErrorRecord } from '../core/errors.ts';
import type { StepSpec } from '../core/pipeline/step.ts';

/** What travels through a target's queue: one try of one chunk. */
export interface TaskMessage {
  jobId: string;
  index: number;
  attempt: number;
  /** The target that ran the previous try, when this is a retry. */
  previousTarget?: string;
  /** When the balancer chose the target for this try, ms since the epoch. */
  routedAt: number;
  sha256: string;
  bytes: number;
  data: Uint8Array;
}

/** How a worker thread builds a job's pipeline; built once per thread and kept under `key`. */
export interface PipelineRecipe {
  key: string;
  steps: StepSpec[];
  modules: readonly string[];
  mode: ChunkingMode;
}

export interface WorkerBatch {
  recipe: PipelineRecipe;
  target: string;
  jobStartedAt: number;
  tasks: { jobId: string; index: number; attempt: number; sha256: string; bytes: number }[];
  /** The tasks' chunks back to back, in task order: one buffer moved to the thread, not one copied per task. */
  data: Uint8Array;
}

export type TaskOutcome =
  | { ok: true; length: number; durationMs: number }
  | { ok: false; error: ErrorRecord; durationMs: number };

export interface WorkerReply {
  workerId: string;
  outcomes: TaskOutcome[];
  /** The successful outputs back to back, in task order: one buffer to transfer, not one per task. */
  output: Uint8Array;
  /** The batch's `data` buffer, moved back so that the main thread packs the next batch into it. */
  spent?: ArrayBuffer;
}
