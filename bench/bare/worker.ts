import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Pipeline } from '../../src/core/pipeline/pipeline.ts';
import { StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';

export interface BareTask {
  index: number;
  sha256: string;
  data: Uint8Array;
}

export interface BareDone {
  index: number;
  output: Uint8Array;
}

const port = parentPort;
if (port === null) throw new Error('bench/bare/worker.ts runs only as a worker thread');

// Built as src/engine/worker.ts builds it, so that both run the same step functions.
const pipeline = new Pipeline(StepRegistry.builtIn().resolve(parsePipelineSpec(workerData.spec as string)));
const workerId = `bare-${threadId}`;
const jobStartedAt = Date.now();

// The built-in steps are synchronous, so tasks run one at a time, in the order they arrive.
port.on('message', async ({ index, sha256, data }: BareTask) => {
  const context = { jobId: 'bare', index, sha256, attempt: 1, target: 'bare', workerId, jobStartedAt };
  port.postMessage({ index, output: await pipeline.run(data, context) } satisfies BareDone);
});
