import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { JobEventLog } from '../../src/core/job-events.ts';
import { webhookHeaders } from '../../src/util/standard-webhooks.ts';

describe('JobEventLog', () => {
  it('keeps only the latest progress, numbering every event once', () => {
    const log = new JobEventLog();
    log.append('progress', { n: 1 });
    log.append('failure', { index: 0 });
    log.append('progress', { n: 2 });
    log.append('progress', { n: 3 });
    expect(log.since(0).map((e) => [e.id, e.type])).toEqual([
      [2, 'failure'],
      [4, 'progress'],
    ]);
    expect(log.since(2).map((e) => e.id)).toEqual([4]);
  });

  it('counts detail events past its cap in omittedEvents, and takes nothing after end', () => {
    const log = new JobEventLog(2);
    for (let i = 0; i < 5; i++) log.append('failure', { index: i });
    log.append('progress', {});
    log.append('end', { status: 'completed' });
    log.append('failure', { index: 9 });
    const events = log.since(0);
    expect(events.filter((e) => e.type === 'failure')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'end', data: { omittedEvents: 3 } });
    expect(log.omitted).toBe(3);
  });

  it('follows from an id to the end, waking on each new event', async () => {
    const log = new JobEventLog();
    log.append('progress', { n: 1 });
    const read = (async () => {
      const ids: number[] = [];
      for await (const event of log.follow(0, 1000)) if (event) ids.push(event.id);
      return ids;
    })();
    setTimeout(() => {
      log.append('failure', {});
      log.append('end', {});
    }, 20);
    expect(await read).toEqual([1, 2, 3]);
  });
});

describe('JobEventLog after a re-run', () => {
  it('takes events again once reopened, and a reader goes past the first end to the next', async () => {
    // Prepare
    const log = new JobEventLog();
    log.append('failure', { index: 0 });
    log.append('end', { status: 'failed' });

    // Act
    log.reopen();
    log.append('progress', { status: 'processing' });
    const read = (async () => {
      const types: string[] = [];
      for await (const event of log.follow(0, 1000)) if (event) types.push(event.type);
      return types;
    })();
    setTimeout(() => log.append('end', { status: 'completed' }), 20);

    // Assess
    expect(await read).toEqual(['failure', 'end', 'progress', 'end']);
    expect(log.ended).toBe(true);
  });
});

describe('webhook signing', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

  it('signs as the Standard Webhooks spec says: v1,base64(HMAC-SHA256(key, id.timestamp.body))', () => {
    const body = '{"type":"job.completed"}';
    const headers = webhookHeaders(secret, 'msg_1', body, 1_765_000_000_000);
    const expected = createHmac('sha256', Buffer.from('0123456789abcdef0123456789abcdef'))
      .update(`msg_1.1765000000.${body}`)
      .digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(headers['webhook-timestamp']).toBe('1765000000');
  });

  it('passes an independent verifier, and fails it for another body', () => {
    const body = '{"type":"job.failed"}';
    const headers = webhookHeaders(secret, 'msg_2', body);
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'job.failed' });
    expect(() => new Webhook(secret).verify('{"type":"job.completed"}', headers)).toThrow();
  });
});
