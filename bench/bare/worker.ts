import { parentPort, workerData } from 'node:worker_threads';
import { benchSteps } from '../lib/steps.ts';

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

const runSteps = benchSteps(workerData.spec as string, 'bare');

// The built-in steps are synchronous, so tasks run one at a time, in the order they arrive.
port.on('message', async ({ index, sha256, data }: BareTask) => {
  port.postMessage({ index, output: await runSteps(data, index, sha256) } satisfies BareDone);
});
