import { describe, expect, it } from 'vitest';
import { sseEvents, viewIn } from '../../src/cli/client/watch.ts';

/** A body that arrives in these pieces, as a network delivers it. */
const bodyOf = (...pieces: string[]): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
      controller.close();
    },
  });

const collect = async (body: ReadableStream<Uint8Array>) => {
  const events = [];
  for await (const event of sseEvents(body)) events.push(event);
  return events;
};

describe('sseEvents', () => {
  it('reads events split across pieces anywhere, even inside a line ending', async () => {
    // Prepare
    const body = bodyOf('id: 1\nevent: prog', 'ress\ndata: {"a":1}\r', '\n\r\nid: 2\ndata: x\n\n');

    // Act
    const events = await collect(body);

    // Assess
    expect(events).toEqual([
      { id: '1', event: 'progress', data: '{"a":1}' },
      { id: '2', event: 'message', data: 'x' },
    ]);
  });

  it('joins data lines with newlines, skips comments, and drops an unfinished last event', async () => {
    // Prepare
    const body = bodyOf(': keep-alive\n\ndata: one\r', '\ndata:two\n\n', 'data: never finished');

    // Act
    const events = await collect(body);

    // Assess
    expect(events).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });
});

describe('viewIn', () => {
  it('takes a job view from an event, bare or under job, and nothing else', () => {
    // Prepare
    const view = { jobId: 'j', status: 'processing', chunksCompleted: 1, stats: {} };

    // Act
    const bare = viewIn(JSON.stringify(view), 'j');
    const wrapped = viewIn(JSON.stringify({ type: 'progress', job: view }), 'j');
    const other = viewIn(JSON.stringify(view), 'k');
    const partial = viewIn(JSON.stringify({ jobId: 'j', chunksCompleted: 2 }), 'j');
    const text = viewIn('not json', 'j');

    // Assess
    expect(bare).toEqual(view);
    expect(wrapped).toEqual(view);
    expect([other, partial, text]).toEqual([undefined, undefined, undefined]);
  });
});
