import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TaskState } from '../../src/core/constants.ts';
import type { ErrorRecord } from '../../src/core/errors.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import type { TaskStore } from '../../src/ports/task-store.ts';
import { freshSubjectPerTest } from './fresh-subject.ts';
import type { TaskStoreUnderTest } from './task-store.contract.ts';

const T0 = 1_700_000_000_000;
const LEASE_MS = 30_000;
const OUTAGE: ErrorRecord = { name: 'TargetUnavailableError', message: 'aws is down', retryable: true };

const chunk = (index: number) => ({ bytes: 100 + index, sha256: `${index}`.padStart(64, '0') });

/** Runs try `attempt` of a task to `outcome`, claimed then finished, as a runtime would. */
const runTry = async (
  store: TaskStore,
  jobId: string,
  index: number,
  attempt: number,
  outcome: typeof TaskState.completed | typeof TaskState.retrying | typeof TaskState.failed,
): Promise<void> => {
  const claimId = `claim-${index}-${attempt}`;
  const now = T0 + attempt * 1000;
  const claim = await store.claim({
    jobId,
    index,
    attempt,
    target: 'aws',
    workerId: 'w1',
    claimId,
    now,
    leaseMs: LEASE_MS,
    ...chunk(index),
  });
  expect(claim.claimed).toBe(true);
  const error = outcome === TaskState.completed ? {} : { error: OUTAGE };
  expect(await store.finish({ jobId, index, attempt, claimId, outcome, now: now + 10, ...error })).toBe(true);
};

/**
 * What every `TaskStore` does for an operator: jobs listed newest first and paged, a cancel recorded once,
 * a waiting task cancelled only for the try it waits for, and a failed task re-opened once with its history.
 */
export const describeJobControlsContract = (
  name: string,
  makeStore: () => Promise<TaskStoreUnderTest>,
): void => {
  describe(`${name} lets jobs be listed, cancelled and re-run`, { timeout: 30_000 }, () => {
    let subject: TaskStoreUnderTest;
    freshSubjectPerTest(makeStore, (made) => {
      subject = made;
    });

    const newJob = async (createdAt = T0): Promise<string> => {
      const jobId = randomUUID();
      await subject.store.createJob({ jobId, createdAt, options: { pipeline: [] } });
      return jobId;
    };

    it('lists jobs newest first, page after page, each once', async () => {
      // Prepare
      const { store } = subject;
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await newJob(T0 + i * 1000));

      // Act
      const first = await store.listJobs({ limit: 2 });
      const last = first.at(-1) as { createdAt: number; jobId: string };
      const second = await store.listJobs({ limit: 2, after: last });
      const rest = await store.listJobs({ limit: 10, after: second.at(-1) as typeof last });

      // Assess
      expect([...first, ...second, ...rest].map((job) => job.jobId)).toEqual(ids.reverse());
      expect(first[0]).toMatchObject({ createdAt: T0 + 4000, options: { pipeline: [] } });
      expect(first[0]).not.toHaveProperty('listPk');
    });

    it('records a cancel once: a second keeps the first time; an unknown job stays unknown', async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();

      // Act
      const first = await store.cancelJob(jobId, T0 + 5);
      const second = await store.cancelJob(jobId, T0 + 9);
      const unknown = await store.cancelJob(randomUUID(), T0);

      // Assess
      expect(first?.cancelledAt).toBe(T0 + 5);
      expect(second?.cancelledAt).toBe(T0 + 5);
      expect((await store.getJob(jobId))?.cancelledAt).toBe(T0 + 5);
      expect(unknown).toBeUndefined();
    });

    it('cancels a task that waits for the try, and one with no record yet for try 1; nothing else', async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();
      const pending: TaskRecord = {
        jobId,
        index: 0,
        state: TaskState.pending,
        attempts: [],
        updatedAt: T0,
        ...chunk(0),
      };
      await store.putTasks([pending]);
      await runTry(store, jobId, 1, 1, TaskState.retrying);
      await runTry(store, jobId, 2, 1, TaskState.completed);
      const cancel = (index: number, attempt: number) =>
        store.cancelTask({ jobId, index, attempt, now: T0 + 50_000, ...chunk(index) });

      // Act
      const results = {
        pending: await cancel(0, 1),
        pendingAgain: await cancel(0, 1),
        retryingWrongTry: await cancel(1, 3),
        retrying: await cancel(1, 2),
        completed: await cancel(2, 2),
        unrecorded: await cancel(3, 1),
        unrecordedLaterTry: await cancel(4, 2),
      };

      // Assess
      expect(results).toEqual({
        pending: true,
        pendingAgain: false,
        retryingWrongTry: false,
        retrying: true,
        completed: false,
        unrecorded: true,
        unrecordedLaterTry: false,
      });
      const states = (await store.listTasks(jobId)).map((task) => [task.index, task.state]);
      expect(states).toEqual([
        [0, TaskState.cancelled],
        [1, TaskState.cancelled],
        [2, TaskState.completed],
        [3, TaskState.cancelled],
      ]);
      expect(await store.getTask(jobId, 3)).toMatchObject({ attempts: [], ...chunk(3) });
      expect((await store.getTask(jobId, 1))?.attempts).toHaveLength(1);
    });

    it('cancels a task whose try was abandoned (lease run out), losing that try; not one whose lease holds', async () => {
      // Prepare: try 2 of task 0 and try 1 of task 1 taken by a worker that died, at T0 + 2000
      const { store } = subject;
      const jobId = await newJob();
      await runTry(store, jobId, 0, 1, TaskState.retrying);
      const take = (index: number, attempt: number) =>
        store.claim({
          jobId,
          index,
          attempt,
          target: 'gcp',
          workerId: 'w2',
          claimId: `dead-${index}`,
          now: T0 + 2000,
          leaseMs: LEASE_MS,
          ...chunk(index),
        });
      await take(0, 2);
      await take(1, 1);
      const cancel = (index: number, attempt: number, now: number) =>
        store.cancelTask({ jobId, index, attempt, now, ...chunk(index) });

      // Act
      const results = {
        leaseHolds: await cancel(0, 2, T0 + 2000 + LEASE_MS - 1),
        otherTry: await cancel(0, 1, T0 + 2000 + LEASE_MS),
        abandoned: await cancel(0, 2, T0 + 2000 + LEASE_MS),
        abandonedFirst: await cancel(1, 1, T0 + 2000 + LEASE_MS),
        again: await cancel(0, 2, T0 + 2000 + LEASE_MS),
      };

      // Assess
      expect(results).toEqual({
        leaseHolds: false,
        otherTry: false,
        abandoned: true,
        abandonedFirst: true,
        again: false,
      });
      const [first, second] = await store.listTasks(jobId);
      expect(first).toMatchObject({
        state: TaskState.cancelled,
        attempts: [{ attempt: 1, outcome: TaskState.retrying }],
      });
      expect(first?.leaseExpiresAt).toBeUndefined();
      expect(second).toMatchObject({ state: TaskState.cancelled, attempts: [] });
    });

    it('re-opens a failed task once, keeping its tries; its next try claims it and goes on counting', async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();
      await runTry(store, jobId, 0, 1, TaskState.retrying);
      await runTry(store, jobId, 0, 2, TaskState.failed);
      await runTry(store, jobId, 1, 1, TaskState.completed);

      // Act
      const reopened = await store.reopenTask(jobId, 0, T0 + 60_000);
      const again = await store.reopenTask(jobId, 0, T0 + 61_000);
      const completed = await store.reopenTask(jobId, 1, T0 + 60_000);
      const missing = await store.reopenTask(jobId, 7, T0 + 60_000);
      await runTry(store, jobId, 0, 3, TaskState.completed);

      // Assess
      expect(reopened).toMatchObject({ state: TaskState.retrying, rerunFrom: 2, updatedAt: T0 + 60_000 });
      expect(reopened).not.toHaveProperty('error');
      expect([again, completed, missing]).toEqual([undefined, undefined, undefined]);
      await store.retireJob(jobId);
      await store.rerunJob(jobId, T0 + 60_000);
      expect((await store.listActiveJobs()).map((job) => job.jobId)).toContain(jobId);
      expect((await store.getJob(jobId))?.rerunAt).toBe(T0 + 60_000);
      const task = await store.getTask(jobId, 0);
      expect(task?.state).toBe(TaskState.completed);
      expect(task?.rerunFrom).toBe(2);
      expect(task?.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, TaskState.retrying],
        [2, TaskState.failed],
        [3, TaskState.completed],
      ]);
    });
  });
};
