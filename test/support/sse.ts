import { parseSse, type SseMessage } from '../../src/util/sse.ts';

/**
 * Reads `url`'s event stream, sending `Last-Event-ID` when given, until `enough` says so (then hangs up,
 * as a client that goes away would) or the server ends the stream. The events read, in order.
 */
export const readEvents = async (
  url: string,
  {
    lastEventId,
    enough = () => false,
  }: { lastEventId?: number; enough?: (read: SseMessage[]) => boolean } = {},
): Promise<{ status: number; events: SseMessage[]; closedByServer: boolean }> => {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) },
    signal: abort.signal,
  });
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel();
    return { status: response.status, events: [], closedByServer: true };
  }
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  let text = '';
  let events: SseMessage[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { status: 200, events: parseSse(text), closedByServer: true };
    text += decoder.decode(value, { stream: true });
    const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
    events = parseSse(complete);
    if (enough(events)) {
      abort.abort();
      return { status: 200, events, closedByServer: false };
    }
  }
};
