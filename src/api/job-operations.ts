import { z } from 'zod';
import { JobStatus } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import type { JobListCursor } from '../core/job-operations.ts';
import type { JobService } from '../ports/job-service.ts';
import { type ApiRequest, type ApiResponse, json, problem } from '../util/http.ts';

const JOB_STATUSES = Object.values(JobStatus) as string[];

/** `GET /jobs` pages: `limit` jobs at most. */
export const LIST_LIMITS = { default: 50, max: 1000 } as const;

const CursorFields = z.tuple([z.number().int().nonnegative(), z.string().min(1).max(200)]);

/** A cursor is opaque to clients: the last job of a page, as base64url JSON. */
export const encodeCursor = ({ createdAt, jobId }: JobListCursor): string =>
  Buffer.from(JSON.stringify([createdAt, jobId])).toString('base64url');

export const decodeCursor = (cursor: string): JobListCursor => {
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    fields = undefined;
  }
  const parsed = CursorFields.safeParse(fields);
  if (!parsed.success) {
    throw new UsageError('cursor is not one this API handed out; use the nextCursor of the page before');
  }
  const [createdAt, jobId] = parsed.data;
  return { createdAt, jobId };
};

const listLimit = (value: string | null): number => {
  if (value === null) return LIST_LIMITS.default;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > LIST_LIMITS.max) {
    throw new UsageError(`limit must be a whole number from 1 to ${LIST_LIMITS.max}, got "${value}"`);
  }
  return limit;
};

/** `GET /jobs`, `DELETE /jobs/{id}` and `POST /jobs/{id}/retry`: what an operator does to jobs. */
export class JobOperations {
  readonly #service: JobService;

  constructor(service: JobService) {
    this.#service = service;
  }

  async list(req: ApiRequest): Promise<ApiResponse> {
    const status = req.query.get('status') ?? undefined;
    if (status !== undefined && !JOB_STATUSES.includes(status)) {
      throw new UsageError(`status must be one of ${JOB_STATUSES.join(', ')}, got "${status}"`);
    }
    const cursor = req.query.get('cursor');
    const page = await this.#service.listJobs({
      limit: listLimit(req.query.get('limit')),
      ...(status !== undefined && { status: status as JobStatus }),
      ...(cursor !== null && { after: decodeCursor(cursor) }),
    });
    return json(200, { jobs: page.jobs, nextCursor: page.next ? encodeCursor(page.next) : null });
  }

  async cancel(id: string): Promise<ApiResponse> {
    const view = await this.#service.cancel(id);
    return view ? json(202, view, { location: `/jobs/${id}` }) : unknownJob(id);
  }

  async retry(id: string): Promise<ApiResponse> {
    const rerun = await this.#service.retry(id);
    if (rerun === undefined) return unknownJob(id);
    const statusUrl = `/jobs/${id}`;
    return json(202, { jobId: id, chunksRetried: rerun.chunks, statusUrl }, { location: statusUrl });
  }
}

export const unknownJob = (id: string): ApiResponse =>
  problem(404, 'unknown-job', 'Unknown job', `there is no job ${id}`);
