import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { chunkStream } from '../../src/core/chunker.ts';
import { ChunkingMode } from '../../src/core/constants.ts';

export interface CeilingTask {
  index: number;
  sha256: string;
  data: Uint8Array;
}

export interface CeilingShare {
  tasks: CeilingTask[];
}

export interface CeilingDone {
  bytesOut: number;
}

export interface CeilingResult {
  wallMs: number;
  chunks: number;
  bytesIn: number;
  bytesOut: number;
  threads: number;
}

const WORKER_URL = new URL('../ceiling-worker.ts', import.meta.url);

/** Cuts the file exactly as the engine's ingest does, SHA-256 included, so both sides get the same chunks. */
export const preChunk = async (file: string, size: number): Promise<CeilingTask[]> => {
  const tasks: CeilingTask[] = [];
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of chunkStream(input, 'ceiling', { mode: ChunkingMode.lines, size })) {
    // A copy of its own per chunk: the chunker hands out views, and each buffer is moved to a thread.
    tasks.push({ index: chunk.index, sha256: chunk.sha256, data: new Uint8Array(chunk.data) });
  }
  return tasks;
};

const split = <T>(items: readonly T[], parts: number): T[][] => {
  const per = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, i) => items.slice(i * per, (i + 1) * per));
};

const nextMessage = <T>(worker: Worker): Promise<T> =>
  new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`ceiling worker exited with code ${code}`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (message: T) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      resolve(message);
    });
  });

/** Starts a worker and hands it its share, moving the chunk buffers so that no copy happens on the clock. */
const load = async (spec: string, share: CeilingTask[]): Promise<Worker> => {
  const worker = new Worker(WORKER_URL, { workerData: { spec } });
  const ready = nextMessage<'ready'>(worker);
  worker.postMessage(
    { tasks: share } satisfies CeilingShare,
    share.map((task) => task.data.buffer as ArrayBuffer),
  );
  await ready;
  return worker;
};

/**
 * The same step functions on the same number of threads with no orchestration: every worker holds its
 * share before the clock starts, and the clock stops when the last one is done.
 */
export const measureCeiling = async (
  tasks: CeilingTask[],
  spec: string,
  threads: number,
): Promise<CeilingResult> => {
  const bytesIn = tasks.reduce((sum, task) => sum + task.data.byteLength, 0);
  const workers = await Promise.all(split(tasks, threads).map((share) => load(spec, share)));
  try {
    const done = workers.map((worker) => nextMessage<CeilingDone>(worker));
    const started = performance.now();
    for (const worker of workers) worker.postMessage('start');
    const results = await Promise.all(done);
    const wallMs = performance.now() - started;
    const bytesOut = results.reduce((sum, result) => sum + result.bytesOut, 0);
    return { wallMs, chunks: tasks.length, bytesIn, bytesOut, threads };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
};
