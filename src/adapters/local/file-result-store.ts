import { constants } from 'node:fs';
import { access, type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultRef } from '../../core/task.ts';
import { MissingResultError } from '../../ports/errors.ts';
import type { ReadOptions, ResultStore } from '../../ports/result-store.ts';
import { removeOrphans } from '../../util/orphans.ts';
import { syncPath } from '../../util/sync-path.ts';
import { checkRange, clampRange, formatSpan, parseSpan } from '../result-reading.ts';

interface Pending {
  outputs: readonly Uint8Array[];
  resolve: (refs: ResultRef[]) => void;
  reject: (error: unknown) => void;
}

interface JobFile {
  /** Resolves once the file is open and `size` is its length. */
  handle: Promise<FileHandle>;
  size: number;
  pending: Pending[];
  flushing?: Promise<void>;
}

const READ_BLOCK = 1 << 20;
const CACHED_BLOCKS = 4;
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface FileResultStoreOptions {
  /**
   * Files outlive this process: named by the job alone, opened where an earlier process left them, and
   * synced to disk before `put` resolves, so that a task recorded completed after it finds its output
   * after a crash or a power cut. Otherwise each file carries its owner's pid, and a later process
   * removes those of processes that are gone (`removeOrphans`). @default false
   */
  kept?: boolean;
}

/**
 * Chunk outputs on local disk: one append-only file per job under `dir`; a ref is the output's byte
 * range. Writes that arrive together are gathered into one `writev`, so thousands of small outputs cost
 * a few system calls, and memory holds only what waits to be written. Bytes past the last ref handed out
 * (a write cut short by a crash) are never read: a ref is handed out only once its write has ended.
 */
export class FileResultStore implements ResultStore {
  readonly #dir: string;
  readonly #kept: boolean;
  readonly #jobs = new Map<string, JobFile>();

  constructor(dir: string, { kept = false }: FileResultStoreOptions = {}) {
    this.#dir = dir;
    this.#kept = kept;
  }

  put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]> {
    const job = this.#job(jobId);
    return new Promise((resolve, reject) => {
      job.pending.push({ outputs, resolve, reject });
      job.flushing ??= new Promise((done) => setImmediate(done)).then(() => this.#flush(job));
    });
  }

  /**
   * Outputs land in the file in the order they finished, which is close to index order, so reading
   * 1 MiB blocks and keeping the last few serves most outputs from memory with one read per block. With
   * `reuseBuffers`, a block no longer kept is read into again: a reduce of 16,384 partials otherwise
   * leaves a MiB of garbage per block, which peaked the engine 30-45 MiB higher (issue 24).
   */
  async *read(
    jobId: string,
    refs: readonly ResultRef[],
    { reuseBuffers = false }: ReadOptions = {},
  ): AsyncIterable<Uint8Array> {
    const job = this.#jobs.get(jobId) ?? (refs.length > 0 ? await this.#reopen(jobId) : undefined);
    const blocks: { offset: number; data: Uint8Array }[] = [];
    let spare: Uint8Array | undefined;
    for (const ref of refs) {
      const span = parseSpan(jobId, ref);
      if (job === undefined || span.unit !== '' || span.offset + span.length > job.size) {
        throw new MissingResultError(jobId, ref);
      }
      let block = blocks.find(
        (b) => span.offset >= b.offset && span.offset + span.length <= b.offset + b.data.byteLength,
      );
      if (block === undefined) {
        const length = Math.min(Math.max(READ_BLOCK, span.length), job.size - span.offset);
        const into =
          spare !== undefined && spare.byteLength >= length ? spare.subarray(0, length) : undefined;
        spare = undefined;
        block = { offset: span.offset, data: await this.#readSpan(job, jobId, span.offset, length, into) };
        blocks.unshift(block);
        // The caller is done with the outputs of a block no longer kept: none is handed out again.
        const dropped = blocks.splice(CACHED_BLOCKS)[0];
        if (reuseBuffers && dropped !== undefined) spare = new Uint8Array(dropped.data.buffer);
      }
      yield block.data.subarray(span.offset - block.offset, span.offset - block.offset + span.length);
    }
  }

  /** A positional read of just the bytes asked for, past any block `read` holds; into `into` when given. */
  async readRange(
    jobId: string,
    ref: ResultRef,
    offset: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    checkRange(offset, length, into);
    const span = parseSpan(jobId, ref);
    const job = this.#jobs.get(jobId) ?? (await this.#reopen(jobId));
    if (job === undefined || span.unit !== '' || span.offset + span.length > job.size) {
      throw new MissingResultError(jobId, ref);
    }
    const { start, end } = clampRange(span.length, offset, length);
    if (start === end) return into === undefined ? new Uint8Array(0) : into.subarray(0, 0);
    // A plain array: a merge reads hundreds of thousands of small ranges, and Buffer.alloc costs more.
    const buffer = into ?? new Uint8Array(end - start);
    await this.#readSpan(job, jobId, span.offset + start, end - start, buffer);
    return buffer.byteLength === end - start ? buffer : buffer.subarray(0, end - start);
  }

  async #readSpan(
    job: JobFile,
    jobId: string,
    offset: number,
    length: number,
    buffer: Uint8Array = Buffer.alloc(length),
  ): Promise<Uint8Array> {
    const { bytesRead } = await (await job.handle).read(buffer, 0, length, offset);
    if (bytesRead !== length) throw new Error(`result file of job ${jobId} is shorter than a ref says`);
    return buffer;
  }

  async delete(jobId: string): Promise<void> {
    const job = this.#jobs.get(jobId);
    this.#jobs.delete(jobId);
    if (job) {
      while (job.flushing) await job.flushing;
      await (await job.handle).close();
    }
    await rm(this.#path(jobId), { force: true });
  }

  /** The directory exists (as the first write would make it) and this process may write there. */
  async probe(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await access(this.#dir, constants.W_OK);
  }

  /** Closes every open file; the store can still be read from afterwards, reopening nothing. */
  async close(): Promise<void> {
    // A file that never opened has nothing to close; every other is closed whatever one of them does.
    await Promise.allSettled([...this.#jobs.values()].map(async (job) => (await job.handle).close()));
  }

  #job(jobId: string): JobFile {
    let job = this.#jobs.get(jobId);
    if (job === undefined) {
      if (!SAFE_ID.test(jobId)) throw new RangeError(`job id ${jobId} is not safe as a file name`);
      const file: Omit<JobFile, 'handle'> & Partial<JobFile> = { size: 0, pending: [] };
      file.handle = this.#open(jobId, file);
      job = file as JobFile;
      this.#jobs.set(jobId, job);
      // A file that could not be opened (no space, no descriptors) is opened anew by the next write.
      file.handle.catch(() => {
        if (this.#jobs.get(jobId) === job) this.#jobs.delete(jobId);
      });
    }
    return job;
  }

  /** A kept file an earlier process wrote, opened for reading; undefined when there is none. */
  async #reopen(jobId: string): Promise<JobFile | undefined> {
    if (!this.#kept || !SAFE_ID.test(jobId)) return undefined;
    const exists = await access(this.#path(jobId)).then(
      () => true,
      () => false,
    );
    if (!exists) return undefined;
    const job = this.#job(jobId);
    await job.handle;
    return job;
  }

  /**
   * A fresh file, or a kept one as it was left, written from its end on. Writes name their position (no
   * append mode): a write cut short (a full disk) is written over by the next one, never left between.
   */
  async #open(jobId: string, job: { size: number }): Promise<FileHandle> {
    await mkdir(this.#dir, { recursive: true });
    const handle = await open(this.#path(jobId), this.#kept ? constants.O_RDWR | constants.O_CREAT : 'w+');
    if (this.#kept) {
      job.size = (await handle.stat()).size;
      // The file's name is durable too, or a power cut could leave committed ranges in a file that is gone.
      await syncPath(this.#dir);
    }
    return handle;
  }

  async #flush(job: JobFile): Promise<void> {
    const batch = job.pending;
    job.pending = [];
    try {
      const handle = await job.handle;
      await writeAllAt(
        handle,
        batch.flatMap((p) => p.outputs),
        job.size,
      );
      if (this.#kept) await handle.datasync();
      for (const p of batch) {
        p.resolve(
          p.outputs.map((data) => {
            const ref = formatSpan({ unit: '', offset: job.size, length: data.byteLength });
            job.size += data.byteLength;
            return ref;
          }),
        );
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      job.flushing = job.pending.length > 0 ? this.#flush(job) : undefined;
    }
  }

  /** Unless kept, the owner's pid is in the name, so that a later process can tell a dead one's files from a live one's. */
  #path(jobId: string): string {
    return join(this.#dir, this.#kept ? `${jobId}.results` : `${jobId}.${process.pid}.results`);
  }

  /** Removes the result files that processes now gone left in `dir`. */
  static removeOrphans(dir: string): Promise<string[]> {
    return removeOrphans(dir, /^[A-Za-z0-9_-]{1,128}\.(\d+)\.results$/);
  }
}

/**
 * Writes every buffer at `position`. A write may end short without an error (a disk that fills up part
 * way): the rest is written after it, and the next attempt's error (no space left) is what fails the
 * batch. Refs handed out for bytes never written would read whatever lies there later.
 */
const writeAllAt = async (handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> => {
  let { bytesWritten } = await handle.writev(buffers, position);
  let total = 0;
  for (const buffer of buffers) total += buffer.byteLength;
  for (let written = bytesWritten; written < total; written += bytesWritten) {
    // Rare (a disk filling up): the rest, as one buffer.
    const rest = Buffer.concat(buffers).subarray(written);
    ({ bytesWritten } = await handle.write(rest, 0, rest.byteLength, position + written));
    if (bytesWritten === 0)
      throw new Error(`could not write at ${position + written}: the write wrote nothing`);
  }
};
