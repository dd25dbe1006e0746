import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileBlocks } from '../../util/file-blocks.ts';
import { syncPath } from '../../util/sync-path.ts';

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Where a job's input comes from: a file that exists whole, or a stream read once. */
export type SpoolSource = { path: string } | AsyncIterable<Uint8Array>;

/**
 * The embedded engine's copy of each job's input, in `dir`, one file per job: what a restarted engine
 * reads a job's chunks from again, so the caller's input is not needed after the job was accepted. A
 * file is kept by a hard link where it can be (no bytes copied; the job keeps the bytes the file had even
 * if the caller deletes or replaces it) and copied otherwise; a stream is written out whole. Either way
 * the copy is on disk (synced) before `keep` resolves.
 */
export class FileInputSpool {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Keeps `source` as the input of `jobId`; returns its size in bytes. */
  async keep(jobId: string, source: SpoolSource): Promise<number> {
    const path = this.#path(jobId);
    const partial = `${path}.partial`;
    await mkdir(this.#dir, { recursive: true });
    await rm(partial, { force: true });
    if ('path' in source) await linkOrCopy(source.path, partial);
    else await pipeline(source, (await open(partial, 'w')).createWriteStream());
    await syncPath(partial);
    await rename(partial, path);
    await syncPath(this.#dir);
    return (await stat(path)).size;
  }

  /** The kept input of `jobId`, in blocks (see `fileBlocks`: a reader may keep nothing two blocks later). */
  read(jobId: string): AsyncIterable<Uint8Array> {
    return fileBlocks(this.#path(jobId));
  }

  async has(jobId: string): Promise<boolean> {
    return stat(this.#path(jobId)).then(
      () => true,
      () => false,
    );
  }

  async delete(jobId: string): Promise<void> {
    await rm(this.#path(jobId), { force: true });
  }

  #path(jobId: string): string {
    if (!SAFE_ID.test(jobId)) throw new RangeError(`job id ${jobId} is not safe as a file name`);
    return join(this.#dir, `${jobId}.input`);
  }
}

/** A hard link shares the bytes; across file systems (EXDEV) or where links are refused, a copy. */
const linkOrCopy = async (from: string, to: string): Promise<void> => {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  }
};
