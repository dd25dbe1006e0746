import { parentPort, workerData } from 'node:worker_threads';
import { digestAt } from '../../src/engine/messages.ts';
import { concat } from '../../src/util/bytes.ts';
import { benchSteps } from '../lib/steps.ts';

/** Chunks that lie in the shared memory, one after another, with their SHA-256 in hex, run in order. */
export interface BareBatch {
  batch: number;
  slot: number;
  firstIndex: number;
  offsets: number[];
  lengths: number[];
  sha256: string;
}

export interface BareDone {
  batch: number;
  slot: number;
  output: Uint8Array;
}

const port = parentPort;
if (port === null) throw new Error('bench/bare/worker.ts runs only as a worker thread');

const memory = new Uint8Array(workerData.shared as SharedArrayBuffer);
const runSteps = benchSteps(workerData.spec as string, 'bare');

// The built-in steps are synchronous, so batches run one at a time, in the order they arrive.
port.on('message', async ({ batch, slot, firstIndex, offsets, lengths, sha256 }: BareBatch) => {
  const outputs: Uint8Array[] = [];
  for (const [i, offset] of offsets.entries()) {
    const data = memory.subarray(offset, offset + (lengths[i] as number));
    outputs.push(await runSteps(data, firstIndex + i, digestAt(sha256, i)));
  }
  const output = concat(outputs);
  port.postMessage({ batch, slot, output } satisfies BareDone, [output.buffer as ArrayBuffer]);
});
