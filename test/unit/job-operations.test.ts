import { describe, expect, it } from 'vitest';
import { JobStatus, type TaskState } from '../../src/core/constants.ts';
import { type JobFacts, jobStatus, jobView } from '../../src/core/job.ts';
import { newestFirst, pageOf, rerunConflict } from '../../src/core/job-operations.ts';
import { emptyStats, type StatsData } from '../../src/core/stats/stats.ts';
import { LIST_COSTING } from '../support/costing.ts';

const facts: JobFacts = { jobId: 'j', priority: 'medium', createdAt: 1000, updatedAt: 5000, total: 10 };

const counts = (states: Partial<Record<TaskState, number>>, attempts = 1): StatsData => ({
  ...emptyStats(),
  attempts,
  states: { ...emptyStats().states, ...states },
});

describe('jobStatus', () => {
  it.each([
    [
      'processing while a cancelled job still runs a try',
      { cancelledAt: 3000 },
      { processing: 1, completed: 2 },
      JobStatus.processing,
    ],
    [
      'cancelled once nothing of it runs',
      { cancelledAt: 3000 },
      { pending: 5, completed: 5 },
      JobStatus.cancelled,
    ],
    ['failed when every chunk ended and none completed', {}, { failed: 10 }, JobStatus.failed],
    [
      'completed with failures when some completed',
      {},
      { failed: 1, completed: 9 },
      JobStatus.completedWithFailures,
    ],
    ['processing again while a re-run waits', {}, { retrying: 1, completed: 9 }, JobStatus.processing],
    [
      'processing after a re-run its counts do not show yet',
      { rerunAt: 6000 },
      { failed: 1, completed: 9 },
      JobStatus.processing,
    ],
  ])('is %s', (_, extra, states, expected) => {
    // Act
    const status = jobStatus({ ...facts, ...extra }, counts(states));

    // Assess
    expect(status).toBe(expected);
  });

  it('gives a view its start, and an end only once it ended', () => {
    // Prepare
    const running = { ...counts({ processing: 1, completed: 9 }), firstAt: 1500 };
    const ended = { ...counts({ completed: 10 }), firstAt: 1500 };

    // Act
    const views = [jobView(facts, running, LIST_COSTING), jobView(facts, ended, LIST_COSTING)];

    // Assess
    expect(views.map((view) => [view.startedAt, view.completedAt])).toEqual([
      [new Date(1500).toISOString(), null],
      [new Date(1500).toISOString(), new Date(5000).toISOString()],
    ]);
  });
});

describe('rerunConflict', () => {
  it.each([
    ['job-running', { processing: 1, failed: 1, completed: 8 }, {}],
    ['job-cancelled', { cancelled: 9, failed: 1 }, { cancelledAt: 2000 }],
    ['job-failed', {}, { failure: 'its input stopped' }],
    ['nothing-to-retry', { completed: 10 }, {}],
  ])('refuses with %s', (slug, states, extra) => {
    // Act
    const conflict = rerunConflict(jobView({ ...facts, ...extra }, counts(states), LIST_COSTING));

    // Assess
    expect(conflict?.slug).toBe(slug);
  });

  it('lets a job that ended with failed chunks re-run', () => {
    // Act
    const conflict = rerunConflict(jobView(facts, counts({ completed: 7, failed: 3 }), LIST_COSTING));

    // Assess
    expect(conflict).toBeUndefined();
  });
});

describe('pageOf', () => {
  const jobs = [
    { jobId: 'b', createdAt: 3 },
    { jobId: 'a', createdAt: 3 },
    { jobId: 'c', createdAt: 2 },
    { jobId: 'd', createdAt: 1 },
  ].sort(newestFirst);

  it('pages after a cursor, keeps what the filter keeps, and says where to go on', () => {
    // Act
    const first = pageOf(jobs, { limit: 1 }, (job) => (job.jobId === 'd' ? undefined : job.jobId));
    const second = pageOf(jobs, { limit: 2, ...(first.next && { after: first.next }) }, (job) => job.jobId);
    const last = pageOf(jobs, { limit: 5, ...(second.next && { after: second.next }) }, (job) => job.jobId);

    // Assess
    expect(first).toEqual({ items: ['b'], next: { jobId: 'b', createdAt: 3 } });
    expect(second).toEqual({ items: ['a', 'c'], next: { jobId: 'c', createdAt: 2 } });
    expect(last).toEqual({ items: ['d'] });
  });
});
