import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Pipeline } from '../src/core/pipeline/pipeline.ts';
import { StepRegistry } from '../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../src/core/pipeline/spec.ts';
import type { CeilingDone, CeilingShare } from './lib/ceiling.ts';

const port = parentPort;
if (port === null) throw new Error('ceiling-worker.ts runs only as a worker thread');

// Built exactly as src/engine/worker.ts builds it, so both sides run the same step functions.
const pipeline = new Pipeline(StepRegistry.builtIn().resolve(parsePipelineSpec(workerData.spec as string)));
const workerId = `ceiling-${threadId}`;

const run = async ({ tasks }: CeilingShare): Promise<CeilingDone> => {
  const jobStartedAt = Date.now();
  let bytesOut = 0;
  for (const task of tasks) {
    const output = await pipeline.run(task.data, {
      jobId: 'ceiling',
      index: task.index,
      sha256: task.sha256,
      attempt: 1,
      target: 'ceiling',
      workerId,
      jobStartedAt,
    });
    bytesOut += output.byteLength;
  }
  return { bytesOut };
};

let share: CeilingShare | undefined;
port.on('message', async (message: CeilingShare | 'start') => {
  if (message !== 'start') {
    share = message;
    port.postMessage('ready');
    return;
  }
  port.postMessage(await run(share as CeilingShare));
});
