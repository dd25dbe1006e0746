import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { removeOrphans } from '../util/orphans.ts';
import { BodyTooLargeError } from './errors.ts';

export interface Spooled {
  path: string;
  bytes: number;
  remove: () => Promise<void>;
}

/** Passes a body through, failing with `BodyTooLargeError` once it exceeds `limit` bytes. */
export async function* limited(body: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const piece of body) {
    bytes += piece.byteLength;
    if (bytes > limit) throw new BodyTooLargeError(limit);
    yield piece;
  }
}

/** Removes the spool directories of processes that are gone (killed before they could remove them). */
export const removeOrphanSpools = (): Promise<string[]> => removeOrphans(tmpdir(), /^fanout-body-(\d+)-/);

/**
 * Writes a request body to a temporary file, stopping at `limit` bytes. A job starts only from a body
 * that has arrived whole and within the limit, so a bad or cut-off upload never enqueues anything.
 */
export const spoolBody = async (body: AsyncIterable<Uint8Array>, limit: number): Promise<Spooled> => {
  const dir = await mkdtemp(join(tmpdir(), `fanout-body-${process.pid}-`));
  const remove = () => rm(dir, { recursive: true, force: true });
  const path = join(dir, 'body');
  const file = createWriteStream(path);
  try {
    await pipeline(limited(body, limit), file);
  } catch (error) {
    await remove();
    throw error;
  }
  return { path, bytes: file.bytesWritten, remove };
};

/** The SHA-256 of a spooled body, read back from its file. */
export const fileSha256 = async (path: string): Promise<string> => {
  const digest = createHash('sha256');
  for await (const piece of createReadStream(path)) digest.update(piece as Buffer);
  return digest.digest('hex');
};
