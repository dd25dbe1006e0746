import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import { ServiceEvents } from '../../src/core/service-events.ts';
import { parseSse, type SseMessage } from '../../src/util/sse.ts';

const view = (jobId: string, chunksCompleted: number): JobView =>
  ({
    jobId,
    status: 'processing',
    chunksTotal: 10,
    chunksCompleted,
    updatedAt: `t${chunksCompleted}`,
  }) as JobView;

/** Readers over jobs the test changes, counting the polls. */
const readers = (jobs: JobView[]) => {
  const counts = { polls: 0 };
  return {
    counts,
    jobs,
    readers: {
      listJobs: async () => {
        counts.polls++;
        return [...jobs];
      },
      readTargets: async () => ({}),
    },
  };
};

/** Reads a stream's messages until `enough` says so, then hangs up as a client would. */
const readUntil = async (events: ServiceEvents, enough: (read: SseMessage[]) => boolean) => {
  const body = events.stream().body as AsyncIterable<Uint8Array>;
  let text = '';
  for await (const part of body) {
    text += new TextDecoder().decode(part);
    if (enough(parseSse(text))) break;
  }
  return parseSse(text);
};

describe('ServiceEvents', () => {
  it('sends a snapshot, then a job only when its view moved, and removed when it went', async () => {
    // Prepare
    const source = readers([view('b', 0), view('a', 5)]);
    const events = new ServiceEvents(source.readers, { intervalMs: 10 });

    // Act
    const read = readUntil(events, (messages) => messages.some((m) => m.type === 'removed'));
    await sleep(50);
    source.jobs[0] = view('b', 1);
    await sleep(50);
    source.jobs.pop();
    const messages = await read;
    events.close();

    // Assess
    expect(messages[0]).toEqual({
      type: 'snapshot',
      data: { jobs: [view('b', 0), view('a', 5)], targets: {} },
    });
    expect(messages.slice(1)).toEqual([
      { type: 'job', data: view('b', 1) },
      { type: 'removed', data: { jobId: 'a' } },
    ]);
  });

  it('polls only while a client is connected', async () => {
    // Prepare
    const source = readers([view('a', 0)]);
    const events = new ServiceEvents(source.readers, { intervalMs: 10, idleMs: 20 });
    const idle = source.counts.polls;
    await readUntil(events, () => source.counts.polls >= 3);
    await sleep(30);
    const afterHangUp = source.counts.polls;

    // Act
    await sleep(100);

    // Assess
    expect(idle).toBe(0);
    expect(afterHangUp).toBeGreaterThanOrEqual(3);
    expect(source.counts.polls).toBe(afterHangUp);
    events.close();
  });
});
