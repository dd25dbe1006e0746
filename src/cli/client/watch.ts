import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '../../core/job.ts';
import type { EndpointClient } from './endpoint-client.ts';
import { EndpointError } from './errors.ts';

/** Statuses a job does not leave (issue 22 adds `cancelled`). */
const FINAL = new Set(['completed', 'completed_with_failures', 'failed', 'cancelled']);
export const isFinal = (view: Pick<JobView, 'status'>): boolean => FINAL.has(view.status);

/** How the watch learns of changes: a Server-Sent Events stream, or `GET /jobs/{id}` again and again. */
export type Feed = 'events' | 'polling';

export interface WatchOptions {
  /** Called with every view seen, the last one final. */
  onView: (view: JobView) => void;
  /** Called when the feed is chosen, and again if the events stop and polling takes over. */
  onFeed?: (feed: Feed) => void;
  /** The longest a long poll asks the endpoint to hold. @default 20 */
  waitSeconds?: number;
  /** The pause between polls that came back at once. @default 500 */
  pollMs?: number;
}

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Parses a Server-Sent Events body (the WHATWG grammar, lines of `field: value`, events split by a blank line). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffered = '';
  let event: SseEvent = { event: 'message', data: '' };
  let hasData = false;
  for await (const piece of body) {
    buffered += decoder.decode(piece, { stream: true });
    // A CR at the end may be the first half of a CRLF: it waits for the next piece.
    const end = buffered.endsWith('\r') ? buffered.length - 1 : buffered.length;
    const lines = buffered.slice(0, end).split(/\r\n|\r|\n/);
    buffered = (lines.pop() ?? '') + buffered.slice(end);
    for (const line of lines) {
      if (line === '') {
        if (hasData || event.id !== undefined) yield event;
        event = { event: 'message', data: '' };
        hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') {
        event.data = hasData ? `${event.data}\n${value}` : value;
        hasData = true;
      } else if (field === 'event') event.event = value;
      else if (field === 'id') event.id = value;
    }
  }
}

/** An event's data when it is a whole job view, which then needs no request to read. */
export const viewIn = (data: string, jobId: string): JobView | undefined => {
  try {
    const value = JSON.parse(data) as Partial<JobView> & { job?: Partial<JobView> };
    const view = value.job ?? value;
    return view.jobId === jobId && typeof view.status === 'string' && view.stats !== undefined
      ? (view as JobView)
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Follows the job's events while the endpoint streams them, reading the view after each burst (at most
 * about four times a second); resolves with the last view once it is final, or undefined when the
 * endpoint serves no events or the stream ended, and the caller polls from there.
 */
const followEvents = async (
  client: EndpointClient,
  jobId: string,
  options: WatchOptions,
): Promise<JobView | undefined> => {
  let lastEventId: string | undefined;
  let streams = 0;
  for (;;) {
    const response = await client.events(jobId, lastEventId);
    if (response?.body == null) return undefined;
    if (streams++ === 0) options.onFeed?.('events');
    let seen = 0;
    let readAt = 0;
    try {
      for await (const event of sseEvents(response.body)) {
        seen++;
        if (event.id !== undefined) lastEventId = event.id;
        let view = viewIn(event.data, jobId);
        if (view === undefined && Date.now() - readAt < 250 && !/end|complete|fail|cancel/.test(event.event))
          continue;
        if (view === undefined) {
          readAt = Date.now();
          view = await client.getJob(jobId);
        }
        // An end in the stream may be one before a re-run: the job as it is now says.
        if (isFinal(view) && event.data.length > 0) view = await client.getJob(jobId);
        options.onView(view);
        if (isFinal(view)) {
          await response.body.cancel().catch(() => {});
          return view;
        }
      }
    } catch (error) {
      // A stream cut off (the server restarted, a proxy timed out) is reopened below, like one that ended.
      if (error instanceof EndpointError) throw error;
    }
    const view = await client.getJob(jobId);
    options.onView(view);
    if (isFinal(view)) return view;
    // A stream that ended without an event is not worth reopening: poll instead.
    if (seen === 0) return undefined;
  }
};

/**
 * Polls `GET /jobs/{id}?wait=SECONDS`: an endpoint that long-polls holds the answer until the job
 * changes; one that ignores `wait` answers at once, and the next poll comes `pollMs` later; one that
 * refuses it (400) is polled without it.
 */
const poll = async (client: EndpointClient, jobId: string, options: WatchOptions): Promise<JobView> => {
  let wait: number | undefined = options.waitSeconds ?? 20;
  for (;;) {
    const started = Date.now();
    let view: JobView;
    try {
      view = await client.getJob(jobId, wait);
    } catch (error) {
      if (wait === undefined || !(error instanceof EndpointError) || error.status !== 400) throw error;
      wait = undefined;
      continue;
    }
    options.onView(view);
    if (isFinal(view)) return view;
    const pause = (options.pollMs ?? 500) - (Date.now() - started);
    if (pause > 0) await sleep(pause);
  }
};

/** Watches a job until it ends: by its events where the endpoint serves them, else by polling. */
export const watchJob = async (
  client: EndpointClient,
  jobId: string,
  options: WatchOptions,
): Promise<JobView> => {
  const first = await client.getJob(jobId);
  options.onView(first);
  if (isFinal(first)) return first;
  const ended = await followEvents(client, jobId, options);
  if (ended !== undefined) return ended;
  options.onFeed?.('polling');
  return poll(client, jobId, options);
};
