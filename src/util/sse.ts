import type { ApiResponse } from './http.ts';

/** One Server-Sent Event: its id (none on a stream a client never resumes), its type and its data, sent as one line of JSON. */
export interface SseMessage {
  id?: number;
  type: string;
  data: unknown;
}

/** How long a client waits before it reconnects after the stream broke, in ms. */
const RECONNECT_MS = 1000;

const encoder = new TextEncoder();

/** An event as the stream carries it; `null` is a comment that keeps an idle connection open. */
export const sseFrame = (message: SseMessage | null): string =>
  message === null
    ? ': keep-alive\n\n'
    : `${message.id === undefined ? '' : `id: ${message.id}\n`}event: ${message.type}\ndata: ${JSON.stringify(message.data)}\n\n`;

async function* frames(messages: AsyncIterable<SseMessage | null>): AsyncGenerator<Uint8Array> {
  yield encoder.encode(`retry: ${RECONNECT_MS}\n\n`);
  for await (const message of messages) yield encoder.encode(sseFrame(message));
}

/** A `text/event-stream` answer that sends each message as it comes and ends with them. */
export const sseResponse = (messages: AsyncIterable<SseMessage | null>): ApiResponse => ({
  status: 200,
  headers: {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  },
  body: frames(messages),
});

/**
 * The id a reconnecting client saw last (`Last-Event-ID`): 0 when it sent none, undefined when what it
 * sent is not an id this API hands out (a whole number).
 */
export const lastEventIdOf = (headers: Record<string, string | undefined>): number | undefined => {
  const text = headers['last-event-id']?.trim();
  if (text === undefined || text === '') return 0;
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
};

/** Parses a text/event-stream body into its messages, for a client of the stream (tests, the CLI). */
export const parseSse = (text: string): SseMessage[] =>
  text
    .split('\n\n')
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
      }
      const id = fields.get('id');
      const data = fields.get('data');
      if (data === undefined) return undefined;
      const message: SseMessage = {
        type: fields.get('event') ?? 'message',
        data: JSON.parse(data) as unknown,
      };
      if (id !== undefined) message.id = Number(id);
      return message;
    })
    .filter((message): message is SseMessage => message !== undefined);
