import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ErrorRecord } from '../core/errors.ts';
import { Pipeline } from '../core/pipeline/pipeline.ts';
import { StepRegistry } from '../core/pipeline/registry.ts';
import { concat } from '../util/bytes.ts';
import { DeadlineBoard } from './deadlines.ts';
import {
  digestAt,
  type PipelineRecipe,
  type WorkerBatch,
  type WorkerData,
  type WorkerReply,
} from './messages.ts';

const pipelines = new Map<string, Promise<Pipeline>>();
const shared = Piscina.workerData as WorkerData;
/** The engine's chunk arena (see arena.ts), shared with this thread when the pool started it. */
const arena = new Uint8Array(shared.arena);
/** Where this thread says which try it runs until when, for the main thread to stop one that overruns. */
const deadlines = new DeadlineBoard(shared.deadlines);
/** Where a batch's chunks are copied before the steps run, grown as batches need and kept: see `inTurn`. */
let scratch = new Uint8Array(0);
/** The end of the last batch this thread was given. */
let previous: Promise<unknown> = Promise.resolve();

const pipelineFor = (recipe: PipelineRecipe): Promise<Pipeline> => {
  let pipeline = pipelines.get(recipe.key);
  if (pipeline === undefined) {
    pipeline = StepRegistry.load(recipe.modules).then(
      (registry) => new Pipeline(registry.resolve(recipe.steps, recipe.mode)),
    );
    pipelines.set(recipe.key, pipeline);
  }
  return pipeline;
};

/**
 * The batch's chunks where they lie in the arena, or copied out of it when a step may change its input
 * in place (see `Pipeline.onlyReadsInput`): the arena's copy must stay as it was read for a retry.
 */
const inputsOf = (batch: WorkerBatch, pipeline: Pipeline): Uint8Array[] => {
  const views = batch.lengths.map((length, i) => {
    const offset = batch.offsets[i] as number;
    return arena.subarray(offset, offset + length);
  });
  if (pipeline.onlyReadsInput) return views;
  const total = batch.lengths.reduce((sum, length) => sum + length, 0);
  if (scratch.byteLength < total) scratch = new Uint8Array(total);
  let at = 0;
  return views.map((view) => {
    const input = scratch.subarray(at, at + view.byteLength);
    input.set(view);
    at += view.byteLength;
    return input;
  });
};

/**
 * Runs the batches this thread is given one after another, in the order they came. The pool gives a
 * thread its next batch while one still runs (engine.ts), so that the thread does not wait a round trip
 * through the main thread between two; interleaved, each chunk's measured duration would include the
 * other batch's steps, and both batches would share `scratch`.
 */
export default function inTurn(batch: WorkerBatch): Promise<WorkerReply> {
  const reply = previous.then(() => runBatch(batch));
  previous = reply.catch(() => {});
  return reply;
}

/** Runs a batch of tasks through their job's pipeline on this worker thread. */
async function runBatch(batch: WorkerBatch): Promise<WorkerReply> {
  const pipeline = await pipelineFor(batch.recipe);
  const workerId = `${batch.target}-${threadId}`;
  const lengths: number[] = [];
  const rejected: number[] = [];
  const rejectsLengths: number[] = [];
  const durationsMs: number[] = [];
  const errors: Record<number, ErrorRecord> = {};
  const outputs: Uint8Array[] = [];
  for (const [i, input] of inputsOf(batch, pipeline).entries()) {
    const startedAt = Date.now();
    // A pipeline without steps has no timeout, and nothing in it can overrun.
    if (pipeline.timeoutMs > 0)
      deadlines.started(threadId, batch.id, i, startedAt, startedAt + pipeline.timeoutMs);
    const attempted = await pipeline.attempt(input, {
      jobId: batch.jobId,
      index: batch.indexes[i] as number,
      sha256: digestAt(batch.sha256, i),
      attempt: batch.attempts[i] as number,
      target: batch.target,
      workerId,
      jobStartedAt: batch.jobStartedAt,
      ...(batch.firstLines[i] !== 0 && { firstLine: batch.firstLines[i] as number }),
    });
    durationsMs.push(attempted.durationMs);
    if (attempted.ok) {
      outputs.push(attempted.output);
      lengths.push(attempted.output.byteLength);
      rejected.push(attempted.rejects?.count ?? 0);
      rejectsLengths.push(attempted.rejects?.data.byteLength ?? 0);
      if (attempted.rejects) outputs.push(attempted.rejects.data);
    } else {
      lengths.push(0);
      rejected.push(0);
      rejectsLengths.push(0);
      errors[i] = attempted.error;
    }
  }
  deadlines.idle(threadId);
  // A copy, never a view of `scratch` or the arena, which later batches and chunks overwrite.
  const output = concat(outputs);
  return moved({ workerId, lengths, rejected, rejectsLengths, durationsMs, errors, output });
}

/**
 * The reply with its output transferred to the main thread rather than copied into a new buffer there.
 * Piscina hands back `reply` itself; the wrapper only tells it what to transfer.
 */
const moved = (reply: WorkerReply): WorkerReply =>
  Piscina.move({
    get [Piscina.transferableSymbol]() {
      return [reply.output.buffer];
    },
    get [Piscina.valueSymbol]() {
      return reply;
    },
  } as never) as unknown as WorkerReply;
