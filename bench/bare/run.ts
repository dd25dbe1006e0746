// The least a program can do for a fanout job, timed as `fanout run` is: read the input, cut it with the
// engine's chunker (SHA-256 included), run the same step functions on as many worker threads, write the
// outputs in chunk order. No queue, task store, balancer, retries, stats or configuration: what is left
// is the job's own work, so its throughput is about the most any engine could reach on this machine.
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { chunkStream } from '../../src/core/chunker.ts';
import { ChunkingMode } from '../../src/core/constants.ts';
import type { BareDone, BareTask } from './worker.ts';

/** Chunks in flight per thread: enough that a thread never waits for the next, few enough to bound memory. */
const WINDOW = 16;

const [input, spec, chunkSize, threads, out] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const fd = openSync(out, 'w');
const workers = Array.from(
  { length: Number(threads) },
  () => new Worker(new URL('./worker.js', import.meta.url), { workerData: { spec } }),
);
const inFlight = workers.map(() => 0);
const finished = new Map<number, Uint8Array>();
let nextToWrite = 0;
let bytesOut = 0;
let freed: (() => void) | undefined;
const room = (): Promise<void> => new Promise((resolve) => (freed = resolve));

for (const [i, worker] of workers.entries()) {
  worker.on('message', ({ index, output }: BareDone) => {
    inFlight[i] = (inFlight[i] as number) - 1;
    finished.set(index, output);
    for (let done = finished.get(nextToWrite); done !== undefined; done = finished.get(nextToWrite)) {
      writeSync(fd, done);
      bytesOut += done.byteLength;
      finished.delete(nextToWrite++);
    }
    freed?.();
  });
  worker.on('error', (error) => {
    throw error;
  });
}

let chunks = 0;
const source = createReadStream(input, { highWaterMark: 1 << 20 });
for await (const chunk of chunkStream(source, 'bare', {
  mode: ChunkingMode.lines,
  size: Number(chunkSize),
})) {
  while (Math.min(...inFlight) >= WINDOW) await room();
  const at = inFlight.indexOf(Math.min(...inFlight));
  // A copy of its own: the chunker hands out views of the read buffers, which must not move to a thread.
  // (Not `slice()`: on a Buffer that is a view too.)
  const data = new Uint8Array(chunk.data);
  (workers[at] as Worker).postMessage({ index: chunk.index, sha256: chunk.sha256, data } satisfies BareTask, [
    data.buffer,
  ]);
  inFlight[at] = (inFlight[at] as number) + 1;
  chunks++;
}
while (nextToWrite < chunks) await room();
closeSync(fd);
await Promise.all(workers.map((worker) => worker.terminate()));
process.stdout.write(`${JSON.stringify({ chunks, bytesOut })}\n`);
