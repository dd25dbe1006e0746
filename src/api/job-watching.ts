import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../core/errors.ts';
import type { JobView } from '../core/job.ts';
import { jobEventStream } from '../core/job-event-stream.ts';
import { isEndStatus, type JobEventSource } from '../core/job-events.ts';
import type { JobService } from '../ports/job-service.ts';
import { type ApiRequest, type ApiResponse, json, problem } from '../util/http.ts';
import { unknownJob } from './job-operations.ts';

/** The most `?wait=` may ask for, in seconds. */
export const MAX_WAIT_SECONDS = 60;

export interface JobWatchingOptions {
  /** Where `GET /jobs/{id}/events` streams from; without one the runtime cannot stream (a function). */
  events?: JobEventSource;
  /**
   * `GET /jobs/{id}?wait=SECONDS`: the longest wait granted (a function's is kept under its timeout and
   * API Gateway's 30 s), and how often the job's view is read meanwhile.
   * @default { maxSeconds: 60, intervalMs: 200 }
   */
  longPoll?: { maxSeconds: number; intervalMs: number };
}

/** `GET /jobs/{id}` (with its long poll) and `GET /jobs/{id}/events`: how a client watches a job. */
export class JobWatching {
  readonly #service: JobService;
  readonly #options: JobWatchingOptions;

  constructor(service: JobService, options: JobWatchingOptions) {
    this.#service = service;
    this.#options = options;
  }

  /**
   * A job's view; with `?wait=SECONDS`, once its status or counts change, it ends, or the wait (capped
   * at the runtime's `longPoll.maxSeconds`) runs out, whichever comes first.
   */
  async view(req: ApiRequest, id: string): Promise<ApiResponse> {
    const wait = waitSecondsOf(req.query.get('wait'));
    let view = await this.#service.getJob(id);
    if (!view) return unknownJob(id);
    if (wait === undefined || isEndStatus(view.status)) return json(200, view);
    const { maxSeconds, intervalMs } = this.#options.longPoll ?? {
      maxSeconds: MAX_WAIT_SECONDS,
      intervalMs: 200,
    };
    const deadline = Date.now() + Math.min(wait, maxSeconds) * 1000;
    const seen = changeOf(view);
    for (let left = deadline - Date.now(); left > 0; left = deadline - Date.now()) {
      await sleep(Math.min(intervalMs, left));
      const next = await this.#service.getJob(id);
      if (next === undefined) break;
      view = next;
      if (changeOf(view) !== seen) break;
    }
    return json(200, view);
  }

  async events(req: ApiRequest, id: string): Promise<ApiResponse> {
    if (this.#options.events !== undefined) return jobEventStream(this.#options.events, id, req.headers);
    if ((await this.#service.getJob(id)) === undefined) return unknownJob(id);
    return problem(
      501,
      'events-not-streamed',
      'Events not streamed here',
      `this runtime cannot stream (API Gateway HTTP APIs answer whole responses); long-poll GET /jobs/${id}?wait=SECONDS instead`,
    );
  }
}

/** `?wait=`: absent, or whole seconds from 1 to 60. */
const waitSecondsOf = (text: string | null): number | undefined => {
  if (text === null) return undefined;
  const seconds = /^\d{1,2}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_WAIT_SECONDS)) {
    throw new UsageError(`wait must be whole seconds from 1 to ${MAX_WAIT_SECONDS}, got "${text}"`);
  }
  return seconds;
};

/** What a long poll waits to see move: the status and the counts. */
const changeOf = (view: JobView): string => {
  const { status, chunksTotal, chunksCompleted, chunksFailed, chunksCancelled } = view;
  return JSON.stringify([status, chunksTotal, chunksCompleted, chunksFailed, chunksCancelled]);
};
