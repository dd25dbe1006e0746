import { TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import { jobTimeline } from '../core/timeline.ts';
import type { JobService } from '../ports/job-service.ts';
import { type ApiRequest, type ApiResponse, json } from '../util/http.ts';
import { unknownJob } from './job-operations.ts';

const TASK_STATES = Object.values(TaskState) as string[];

/** `GET /jobs/{id}/tasks` pages: `limit` tasks at most. */
export const TASK_PAGE_MAX = 1000;

const pageLimit = (value: string): number => {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > TASK_PAGE_MAX) {
    throw new UsageError(`limit must be a whole number from 1 to ${TASK_PAGE_MAX}, got "${value}"`);
  }
  return limit;
};

/** A cursor is opaque to clients: the index of the page's last task, as base64url. */
const encodeCursor = (index: number): string => Buffer.from(String(index)).toString('base64url');

const decodeCursor = (cursor: string): number => {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{1,15}$/.test(text)) {
    throw new UsageError('cursor is not one this API handed out; use the nextCursor of the page before');
  }
  return Number(text);
};

/**
 * `GET /jobs/{id}/tasks` and `GET /jobs/{id}/timeline`: a job's tasks and what their tries came to. Both
 * read every task of the job from the service; a page is cut from them here, one way for every runtime,
 * which on the cloud costs a read of the whole job per page.
 */
export class JobTasks {
  readonly #service: JobService;

  constructor(service: JobService) {
    this.#service = service;
  }

  async tasks(req: ApiRequest, id: string): Promise<ApiResponse> {
    const status = req.query.get('status') ?? undefined;
    if (status !== undefined && !TASK_STATES.includes(status)) {
      throw new UsageError(`status must be one of ${TASK_STATES.join(', ')}, got "${status}"`);
    }
    const limitText = req.query.get('limit');
    const cursor = req.query.get('cursor');
    if (cursor !== null && limitText === null) throw new UsageError('cursor needs limit: give both');
    const limit = limitText === null ? undefined : pageLimit(limitText);
    const after = cursor === null ? -1 : decodeCursor(cursor);
    const tasks = await this.#service.listTasks(id, status as TaskState | undefined);
    if (tasks === undefined) return unknownJob(id);
    if (limit === undefined) return json(200, { jobId: id, tasks });
    const rest = tasks.filter((task) => task.index > after).sort((a, b) => a.index - b.index);
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rest.length > limit && last !== undefined ? encodeCursor(last.index) : null;
    return json(200, { jobId: id, tasks: page, nextCursor });
  }

  async timeline(id: string): Promise<ApiResponse> {
    const tasks = await this.#service.listTasks(id);
    return tasks === undefined ? unknownJob(id) : json(200, jobTimeline(id, tasks, Date.now()));
  }
}
