import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, openAsBlob, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../../core/errors.ts';
import type { JobView } from '../../core/job.ts';
import { formatStats, padColumns } from '../format.ts';
import type { Body } from './endpoint-client.ts';

/** One line on a job: its status and counts, for a terminal or a log. */
export const jobLine = (view: JobView): string => {
  const total = view.chunksTotal ?? '?';
  const failed = view.chunksFailed > 0 ? `, ${view.chunksFailed} failed` : '';
  const more = view.chunksCancelled ? `, ${view.chunksCancelled} cancelled` : '';
  return `job ${view.jobId}: ${view.status}, ${view.chunksCompleted}/${total} chunks completed${failed}${more}${view.error ? ` (${view.error})` : ''}`;
};

/** A job for a terminal: its line, then its stats table. */
export const formatJob = (view: JobView): string =>
  `${jobLine(view)}\nlane: ${view.priority}\n\n${formatStats(view.stats)}`;

/** Jobs as a table: id, status, lane, chunks, created. */
export const formatJobs = (jobs: readonly JobView[]): string => {
  const rows = [
    ['JOB', 'STATUS', 'LANE', 'CHUNKS', 'FAILED', 'CREATED'],
    ...jobs.map((job) => [
      job.jobId,
      job.status,
      job.priority,
      `${job.chunksCompleted}/${job.chunksTotal ?? '?'}`,
      String(job.chunksFailed),
      job.createdAt,
    ]),
  ];
  return padColumns(rows);
};

/** The media type a file is sent as: newline-delimited JSON by its name, else text. */
const mediaTypeOf = (name: string): string =>
  /\.(ndjson|jsonl)$/i.test(name) ? 'application/x-ndjson' : 'text/plain';

/**
 * The input of `fanout submit` as a request body: a file, read as it is sent, after one pass to hash it
 * for a signature; or standard input (`-`), read whole.
 */
export const openBody = async (input: string, contentType: string | undefined): Promise<Body> => {
  if (input === '-') {
    const parts: Buffer[] = [];
    for await (const part of process.stdin) parts.push(part as Buffer);
    const bytes = Buffer.concat(parts);
    if (bytes.byteLength === 0) throw new UsageError('standard input is empty; there is nothing to submit');
    return {
      data: new Blob([bytes]),
      contentType: contentType ?? 'text/plain',
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }
  const stat = statSync(input, { throwIfNoEntry: false });
  if (stat === undefined) throw new UsageError(`input file ${input} does not exist`);
  if (!stat.isFile()) throw new UsageError(`input ${input} is not a file`);
  if (stat.size === 0) throw new UsageError(`input file ${input} is empty; there is nothing to submit`);
  const hash = createHash('sha256');
  for await (const part of createReadStream(input)) hash.update(part as Buffer);
  return {
    data: await openAsBlob(input),
    contentType: contentType ?? mediaTypeOf(input),
    sha256: hash.digest('hex'),
  };
};

/**
 * Writes a result body to `out`: a regular file under a temporary name next to it, renamed once whole,
 * so that `out` never holds part of a result; `-`, a device or a pipe as it comes.
 */
export const writeResult = async (response: Response, out: string): Promise<void> => {
  if (response.body === null) throw new Error('the result came without a body');
  const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  if (out === '-') {
    await pipeline(source, process.stdout, { end: false });
    return;
  }
  const regular = statSync(out, { throwIfNoEntry: false })?.isFile() ?? true;
  const temporary = regular ? join(dirname(out), `.${basename(out)}.${process.pid}.partial`) : undefined;
  try {
    await pipeline(source, createWriteStream(temporary ?? out));
    if (temporary) await rename(temporary, out);
  } finally {
    if (temporary) await rm(temporary, { force: true });
  }
};
