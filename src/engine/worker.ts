import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Pipeline } from '../core/pipeline/pipeline.ts';
import { StepRegistry } from '../core/pipeline/registry.ts';
import { concat } from '../util/bytes.ts';
import type { PipelineRecipe, TaskOutcome, WorkerBatch, WorkerReply } from './messages.ts';

const pipelines = new Map<string, Promise<Pipeline>>();

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

/** Runs a batch of tasks through their job's pipeline on this worker thread. */
export default async function runBatch(batch: WorkerBatch): Promise<WorkerReply> {
  const pipeline = await pipelineFor(batch.recipe);
  const workerId = `${batch.target}-${threadId}`;
  const outcomes: TaskOutcome[] = [];
  const outputs: Uint8Array[] = [];
  let offset = 0;
  for (const task of batch.tasks) {
    const input = batch.data.subarray(offset, offset + task.bytes);
    offset += task.bytes;
    const attempted = await pipeline.attempt(input, {
      jobId: task.jobId,
      index: task.index,
      sha256: task.sha256,
      attempt: task.attempt,
      target: batch.target,
      workerId,
      jobStartedAt: batch.jobStartedAt,
    });
    if (attempted.ok) {
      outputs.push(attempted.output);
      outcomes.push({ ok: true, length: attempted.output.byteLength, durationMs: attempted.durationMs });
    } else outcomes.push(attempted);
  }
  const output = concat(outputs);
  // The input goes back to the main thread's pool: every output above is a copy, never a view of it.
  return moved({ workerId, outcomes, output, spent: batch.data.buffer as ArrayBuffer });
}

/**
 * The reply with its buffers transferred to the main thread rather than copied into new ones there.
 * Piscina hands back `reply` itself; the wrapper only tells it what to transfer.
 */
const moved = (reply: WorkerReply): WorkerReply =>
  Piscina.move({
    get [Piscina.transferableSymbol]() {
      return [reply.output.buffer, reply.spent];
    },
    get [Piscina.valueSymbol]() {
      return reply;
    },
  } as never) as unknown as WorkerReply;
