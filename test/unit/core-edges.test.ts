import { describe, expect, it } from 'vitest';
import { checkCallbackUrl, isPrivateAddress } from '../../src/core/callback-url.ts';
import { checkDelivery } from '../../src/core/delivery-check.ts';
import { toErrorRecord, UsageError } from '../../src/core/errors.ts';
import { JobEventLog } from '../../src/core/job-events.ts';
import { newestFirst, pageOf } from '../../src/core/job-operations.ts';

const message = { jobId: 'j', index: 0, attempt: 2, routedAt: 0, sha256: 'a'.repeat(64), bytes: 1 };

describe('the delivery check of a re-run', () => {
  it('refuses a try that claims to re-run from itself or later', () => {
    // Act
    const verdict = checkDelivery(
      { ...message, rerunFrom: 2 },
      { facts: { maxAttempts: 3, recorded: { sha256: message.sha256, bytes: 1 } }, now: 0, graceMs: 0 },
    );

    // Assess
    expect(verdict).toEqual({ kind: 'refuse', reason: 'try 2 cannot re-run from try 2' });
  });

  it("counts a re-run's tries from where it re-ran", () => {
    // Act
    const verdict = checkDelivery(
      { ...message, attempt: 5, rerunFrom: 3 },
      { facts: { maxAttempts: 2, recorded: { sha256: message.sha256, bytes: 1 } }, now: 0, graceMs: 0 },
    );

    // Assess
    expect(verdict).toEqual({ kind: 'run' });
  });
});

describe('callback URLs', () => {
  it.each([
    ['https://user:pw@hooks.example.com/x', /must not carry credentials/],
    ['ftp://hooks.example.com/x', /must be https/],
  ])('refuses %s', (url, reason) => {
    // Act
    const checking = () => checkCallbackUrl(url);

    // Assess
    expect(checking).toThrow(UsageError);
    expect(checking).toThrow(reason);
  });

  it('refuses private and mapped private addresses, and what is no address; lets public ones through', () => {
    // Act
    const verdicts = [
      'not-an-ip',
      '10.0.0.1',
      '8.8.8.8',
      '::ffff:10.1.2.3',
      '::ffff:8.8.8.8',
      'fd00::1',
      '2001:4860::8888',
    ].map(isPrivateAddress);

    // Assess
    expect(verdicts).toEqual([true, true, false, true, false, true, false]);
  });
});

describe('a job event reader with nothing to read', () => {
  it('yields null when it has waited idleMs for an event, and stops when its signal aborts', async () => {
    // Prepare
    const log = new JobEventLog();
    const stop = new AbortController();
    const seen: (number | null)[] = [];

    // Act
    for await (const event of log.follow(0, 20, stop.signal)) {
      seen.push(event === null ? null : event.id);
      if (seen.length === 2) stop.abort();
    }

    // Assess
    expect(seen).toEqual([null, null]);
  });
});

describe('newestFirst and pageOf', () => {
  it('orders jobs of one time by id, and pages nothing after a cursor it does not hold', () => {
    // Prepare
    const jobs = [
      { jobId: 'a', createdAt: 1 },
      { jobId: 'b', createdAt: 1 },
    ].sort(newestFirst);

    // Act
    const page = pageOf(jobs, { limit: 5, after: { jobId: 'a', createdAt: 0 } }, (job) => job.jobId);

    // Assess
    expect(jobs.map((job) => job.jobId)).toEqual(['b', 'a']);
    expect(page).toEqual({ items: [] });
  });
});

describe('toErrorRecord', () => {
  it('takes what was thrown and is no Error as a retryable failure named by its text', () => {
    // Act
    const record = toErrorRecord('out of cheese');

    // Assess
    expect(record).toEqual({ name: 'Error', message: 'out of cheese', retryable: true });
  });
});
