// The least a program can do for a fanout job, timed as `fanout run` is: read the input straight into
// memory shared with the worker threads, cut it where the engine's chunker cuts and hash each chunk, run
// the same step functions on as many threads with one message per batch of about 1 MiB, and write the
// outputs in chunk order. No queue, task store, balancer, retries, stats or configuration, and no chunk
// is copied: what is left is the job's own work, so its throughput is about the most any engine could
// reach on this machine.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { linesCut, sha256Hex } from '../../src/core/chunker.ts';
import type { BareBatch, BareDone } from './worker.ts';

const [input, spec, chunkSizeArg, threadsArg, out] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const chunkSize = Number(chunkSizeArg);
const threads = Number(threadsArg);
/** Bytes read at a time, after the piece of a chunk the last read left over. */
const READ = 1 << 20;
const SLOT = READ + chunkSize;
/** Batches in flight per thread: one running and the next waiting, so a thread never waits for the main one. */
const WINDOW = 2;
const SLOTS = threads * WINDOW + 1;

const shared = new SharedArrayBuffer(SLOT * SLOTS);
const memory = new Uint8Array(shared);
const workers = Array.from(
  { length: threads },
  () => new Worker(new URL('./worker.js', import.meta.url), { workerData: { spec, shared } }),
);
const inFlight = workers.map(() => 0);
const freeSlots = Array.from({ length: SLOTS }, (_, slot) => slot);
const finished = new Map<number, Uint8Array>();
let nextToWrite = 0;
let bytesOut = 0;
let freed: (() => void) | undefined;
const room = (): Promise<void> => new Promise((resolve) => (freed = resolve));

const outFd = openSync(out, 'w');
for (const [i, worker] of workers.entries()) {
  worker.on('message', ({ batch, slot, output }: BareDone) => {
    inFlight[i] = (inFlight[i] as number) - 1;
    freeSlots.push(slot);
    finished.set(batch, output);
    for (let done = finished.get(nextToWrite); done !== undefined; done = finished.get(nextToWrite)) {
      writeSync(outFd, done);
      bytesOut += done.byteLength;
      finished.delete(nextToWrite++);
    }
    freed?.();
  });
  worker.on('error', (error) => {
    throw error;
  });
}

const inFd = openSync(input, 'r');
let chunks = 0;
let batches = 0;
/** Where the bytes left over by the last slot's final, unfinished chunk start, and how many there are. */
let leftAt = 0;
let left = 0;
for (let ended = false; !ended; ) {
  while (freeSlots.length === 0 || Math.min(...inFlight) >= WINDOW) await room();
  const slot = freeSlots.shift() as number;
  const base = slot * SLOT;
  memory.copyWithin(base, leftAt, leftAt + left);
  let filled = left;
  for (let read = -1; read !== 0 && filled < SLOT; filled += read) {
    read = readSync(inFd, memory, base + filled, SLOT - filled, null);
  }
  ended = filled < SLOT;
  const batch: BareBatch = { batch: batches, slot, firstIndex: chunks, offsets: [], lengths: [], sha256: '' };
  let at = 0;
  // A chunk is cut once more than a chunk's worth follows its start, as the chunker does; the rest
  // waits for the next read unless the input has ended.
  while (filled - at > chunkSize || (ended && filled > at)) {
    const view = memory.subarray(base + at, base + filled);
    const length = filled - at > chunkSize ? linesCut(view, chunkSize) : filled - at;
    batch.offsets.push(base + at);
    batch.lengths.push(length);
    batch.sha256 += sha256Hex(view.subarray(0, length));
    at += length;
  }
  leftAt = base + at;
  left = filled - at;
  if (batch.offsets.length === 0) {
    freeSlots.push(slot);
    continue;
  }
  const to = inFlight.indexOf(Math.min(...inFlight));
  (workers[to] as Worker).postMessage(batch);
  inFlight[to] = (inFlight[to] as number) + 1;
  chunks += batch.offsets.length;
  batches++;
}
closeSync(inFd);
while (nextToWrite < batches) await room();
closeSync(outFd);
await Promise.all(workers.map((worker) => worker.terminate()));
process.stdout.write(`${JSON.stringify({ chunks, bytesOut })}\n`);
