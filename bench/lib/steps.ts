import { threadId } from 'node:worker_threads';
import { Pipeline } from '../../src/core/pipeline/pipeline.ts';
import { StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';

/** Runs one chunk through the steps: the first try of chunk `index`, as a bench worker thread runs it. */
export type RunSteps = (data: Uint8Array, index: number, sha256: string) => Promise<Uint8Array>;

/**
 * The steps of `spec`, built as src/engine/worker.ts builds a job's pipeline, so that every bench worker
 * runs the same step functions as the engine; `name` stands for the job, the target and the worker.
 */
export const benchSteps = (spec: string, name: string): RunSteps => {
  const pipeline = new Pipeline(StepRegistry.builtIn().resolve(parsePipelineSpec(spec)));
  const workerId = `${name}-${threadId}`;
  const jobStartedAt = Date.now();
  return async (data, index, sha256) =>
    (
      await pipeline.run(data, {
        jobId: name,
        index,
        sha256,
        attempt: 1,
        target: name,
        workerId,
        jobStartedAt,
      })
    ).output;
};
