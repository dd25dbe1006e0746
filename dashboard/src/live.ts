import { useEffect, useRef, useState } from 'preact/hooks';

/** How a stream of Server-Sent Events stands: `unavailable` once the server refused it (a 404, say). */
export type FeedState = 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'ended';

export type EventHandlers = Record<string, (data: unknown) => void>;

/**
 * An `EventSource` on `url` while the component is shown (none while `url` is undefined), each named event
 * handed to its handler with its data parsed. The browser reconnects by itself after a dropped connection;
 * a refusal closes the stream for good and `onRefused` runs once. `ended` when `stop` is called, as on a
 * job's `end`, so that the browser does not reconnect to a finished stream.
 */
export const useEventSource = (
  url: string | undefined,
  handlers: EventHandlers,
  onRefused?: () => void,
): { state: FeedState; stop: () => void } => {
  const [state, setState] = useState<FeedState>('connecting');
  const latest = useRef({ handlers, onRefused });
  latest.current = { handlers, onRefused };
  const source = useRef<EventSource | undefined>(undefined);
  useEffect(() => {
    if (url === undefined) return;
    setState('connecting');
    const events = new EventSource(url);
    source.current = events;
    events.onopen = () => setState('live');
    events.onerror = () => {
      if (events.readyState !== EventSource.CLOSED) return setState('reconnecting');
      setState('unavailable');
      latest.current.onRefused?.();
    };
    for (const name of Object.keys(handlers)) {
      events.addEventListener(name, (event) => {
        latest.current.handlers[name]?.(JSON.parse((event as MessageEvent<string>).data));
      });
    }
    return () => events.close();
    // The handlers are read through `latest`: only the URL opens a new stream.
  }, [url]);
  const stop = () => {
    source.current?.close();
    setState('ended');
  };
  return { state, stop };
};

/**
 * `fn` at most once every `ms`: the first call runs at once, later ones within the window make one call
 * at its end. Event-driven: nothing runs without a call.
 */
export const throttle = (fn: () => void, ms: number): { (): void; cancel: () => void } => {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const call = () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) run();
    else timer ??= setTimeout(run, wait);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
};

/** What a stream's state means to a reader. */
export const describeFeed = (state: FeedState): string =>
  ({
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    unavailable: 'Live updates not available',
    ended: 'Ended',
  })[state];
