import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ErrorRecord } from '../core/errors.ts';
import { Pipeline } from '../core/pipeline/pipeline.ts';
import { StepRegistry } from '../core/pipeline/registry.ts';
import { concat } from '../util/bytes.ts';
import type { PipelineRecipe, WorkerBatch, WorkerReply } from './messages.ts';

const SHA256_HEX = 64;
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
  const lengths: number[] = [];
  const durationsMs: number[] = [];
  const errors: Record<number, ErrorRecord> = {};
  const outputs: Uint8Array[] = [];
  let offset = 0;
  for (const [i, length] of batch.lengths.entries()) {
    const input = batch.data.subarray(offset, offset + length);
    offset += length;
    const attempted = await pipeline.attempt(input, {
      jobId: batch.jobId,
      index: batch.indexes[i] as number,
      sha256: batch.sha256.slice(i * SHA256_HEX, (i + 1) * SHA256_HEX),
      attempt: batch.attempts[i] as number,
      target: batch.target,
      workerId,
      jobStartedAt: batch.jobStartedAt,
    });
    durationsMs.push(attempted.durationMs);
    if (attempted.ok) {
      outputs.push(attempted.output);
      lengths.push(attempted.output.byteLength);
    } else {
      lengths.push(0);
      errors[i] = attempted.error;
    }
  }
  const output = concat(outputs);
  // The input goes back to the main thread's pool: every output above is a copy, never a view of it.
  return moved({ workerId, lengths, durationsMs, errors, output, spent: batch.data.buffer as ArrayBuffer });
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
