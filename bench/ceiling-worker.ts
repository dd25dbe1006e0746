import { parentPort, workerData } from 'node:worker_threads';
import type { CeilingDone, CeilingShare } from './lib/ceiling.ts';
import { benchSteps } from './lib/steps.ts';

const port = parentPort;
if (port === null) throw new Error('ceiling-worker.ts runs only as a worker thread');

const runSteps = benchSteps(workerData.spec as string, 'ceiling');

const run = async ({ tasks }: CeilingShare): Promise<CeilingDone> => {
  let bytesOut = 0;
  for (const task of tasks) bytesOut += (await runSteps(task.data, task.index, task.sha256)).byteLength;
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
