import { type ApiResponse, problem } from '../util/http.ts';
import { lastEventIdOf, sseResponse } from '../util/sse.ts';
import type { JobEventSource } from './job-events.ts';

/** A keep-alive comment after this long without an event, so that proxies keep the stream open. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * `GET /jobs/{id}/events` on a runtime that streams: the job's events after the client's
 * `Last-Event-ID`, then each one as it comes, until `end`. One answer for every runtime; only the source
 * of the events differs.
 */
export const jobEventStream = async (
  source: JobEventSource,
  jobId: string,
  headers: Record<string, string | undefined>,
  idleMs = KEEP_ALIVE_MS,
): Promise<ApiResponse> => {
  const after = lastEventIdOf(headers);
  if (after === undefined) {
    return problem(
      400,
      'bad-request',
      'Bad request',
      `Last-Event-ID must be an event id (a whole number), got "${headers['last-event-id']}"`,
    );
  }
  const log = await source.log(jobId);
  if (log === undefined) return problem(404, 'unknown-job', 'Unknown job', `there is no job ${jobId}`);
  return sseResponse(log.follow(after, idleMs));
};
