import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TaskState } from '../../src/core/constants.ts';
import type { ErrorRecord } from '../../src/core/errors.ts';
import type {
  Attempt,
  ClaimAndFinishRequest,
  ClaimRequest,
  FinishRequest,
  TaskRecord,
} from '../../src/core/task.ts';
import type { JobRecord, TaskStore } from '../../src/ports/task-store.ts';
import { freshSubjectPerTest } from './fresh-subject.ts';

export interface TaskStoreUnderTest {
  store: TaskStore;
  /** Deletes whatever the factory created (a table); runs after every test. */
  cleanup?: () => Promise<void>;
}

/** A point in time the tests count from; claims and finishes carry their own `now`, never the clock's. */
const T0 = 1_700_000_000_000;
const LEASE_MS = 30_000;

const TIMEOUT_ERROR: ErrorRecord = { name: 'StepTimeoutError', message: 'step x timed out', retryable: true };
const POISON_ERROR: ErrorRecord = {
  name: 'PoisonChunkError',
  message: 'chunk 0 is poisoned',
  retryable: false,
};

const pendingTask = (jobId: string, index: number): TaskRecord => ({
  jobId,
  index,
  state: TaskState.pending,
  bytes: 1000 + index,
  sha256: `sha256-of-chunk-${index}`,
  attempts: [],
  updatedAt: T0,
});

type Outcome = FinishRequest['outcome'];

/**
 * The behaviour every `TaskStore` implementation must show, above all that `claim` and `finish` apply
 * `applyClaim` / `applyFinish` atomically. Each test gets a store from `makeStore` and works on a job of
 * its own with a random id, so a store backed by a shared table is fine.
 */
export interface TaskStoreContractOptions {
  /**
   * Why the concurrency tests cannot run against this store, when they cannot: an emulator that does not
   * apply conditional writes atomically under concurrent requests, as the real service does.
   */
  concurrencyUntestableBecause?: string;
}

export const describeTaskStoreContract = (
  name: string,
  makeStore: () => Promise<TaskStoreUnderTest>,
  options: TaskStoreContractOptions = {},
): void => {
  describe(`TaskStore contract: ${name}`, { timeout: 30_000 }, () => {
    let store: TaskStore;
    let jobId: string;

    freshSubjectPerTest(makeStore, (subject) => {
      store = subject.store;
      jobId = `job-${randomUUID()}`;
    });

    const jobRecord = (overrides: Partial<JobRecord> = {}): JobRecord => ({
      jobId,
      createdAt: T0,
      options: {
        pipeline: 'validate:ndjson,compress:gzip',
        chunking: { mode: 'lines', size: 1024 },
        targets: ['aws'],
      },
      ...overrides,
    });

    /** Creates the test's job with `count` pending tasks. */
    const createJobWithTasks = async (count: number): Promise<void> => {
      await store.createJob(jobRecord());
      await store.putTasks(Array.from({ length: count }, (_, index) => pendingTask(jobId, index)));
    };

    const claimRequest = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
      jobId,
      index: 0,
      attempt: 1,
      target: 'aws',
      workerId: 'worker-1',
      claimId: 'claim-1',
      now: T0,
      leaseMs: LEASE_MS,
      bytes: 1000 + (overrides.index ?? 0),
      sha256: `sha256-of-chunk-${overrides.index ?? 0}`,
      ...overrides,
    });

    const finishRequest = (overrides: Partial<FinishRequest> = {}): FinishRequest => ({
      jobId,
      index: 0,
      attempt: 1,
      claimId: 'claim-1',
      outcome: TaskState.completed,
      now: T0 + 1000,
      ...overrides,
    });

    /** Try 1 as `claimRequest` and `finishRequest` (or `wholeTry`) leave it. */
    const firstTryEnded = (outcome: Outcome): Attempt => ({
      attempt: 1,
      target: 'aws',
      workerId: 'worker-1',
      claimId: 'claim-1',
      startedAt: T0,
      endedAt: T0 + 1000,
      outcome,
    });

    /** A try recorded whole: started at T0 on `aws` by worker-1, ended at T0 + 1000. */
    const wholeTry = (overrides: Partial<ClaimAndFinishRequest> = {}): ClaimAndFinishRequest => ({
      ...finishRequest(),
      target: 'aws',
      workerId: 'worker-1',
      startedAt: T0,
      bytes: 1000 + (overrides.index ?? 0),
      sha256: `sha256-of-chunk-${overrides.index ?? 0}`,
      ...overrides,
    });

    const indicesOf = (tasks: readonly TaskRecord[]): number[] => tasks.map((task) => task.index);

    describe('jobs', () => {
      it('returns a created job as it was given', async () => {
        // Prepare
        const job = jobRecord();

        // Act
        await store.createJob(job);
        const stored = await store.getJob(jobId);

        // Assess
        expect(stored).toEqual(job);
      });

      it('returns undefined for a job that was never created', async () => {
        // Prepare
        await store.createJob(jobRecord());

        // Act
        const stored = await store.getJob(`job-${randomUUID()}`);

        // Assess
        expect(stored).toBeUndefined();
      });

      it('keeps the first job when the same job id is created twice', async () => {
        // Prepare
        const first = jobRecord();
        await store.createJob(first);

        // Act
        await store.createJob(
          jobRecord({ createdAt: T0 + 5000, options: { pipeline: 'transform:uppercase' } }),
        );
        const stored = await store.getJob(jobId);

        // Assess
        expect(stored).toEqual(first);
      });

      it('records the number of chunks given to setJobTotal', async () => {
        // Prepare
        await store.createJob(jobRecord());
        const before = await store.getJob(jobId);

        // Act
        await store.setJobTotal(jobId, 42);
        const after = await store.getJob(jobId);

        // Assess
        expect(before?.chunksTotal).toBeUndefined();
        expect(after).toEqual({ ...jobRecord(), chunksTotal: 42 });
      });

      it('marks a job failed with the reason and time given, keeping the rest of its record', async () => {
        // Prepare
        await store.createJob(jobRecord());

        // Act
        await store.failJob(jobId, 'its input stopped: no target', T0 + 2000);
        const stored = await store.getJob(jobId);

        // Assess
        expect(stored).toEqual({
          ...jobRecord(),
          failed: { reason: 'its input stopped: no target', at: T0 + 2000 },
        });
      });

      it('leaves a job it does not know unknown when asked to fail it', async () => {
        // Act
        await store.failJob(jobId, 'no such job', T0);
        const stored = await store.getJob(jobId);

        // Assess
        expect(stored).toBeUndefined();
      });
    });

    describe('tasks', () => {
      it('stores the tasks given to putTasks as they were given', async () => {
        // Prepare
        await store.createJob(jobRecord());
        const tasks = [0, 1, 2].map((index) => pendingTask(jobId, index));

        // Act
        await store.putTasks(tasks);
        const stored = await Promise.all(tasks.map((task) => store.getTask(jobId, task.index)));

        // Assess
        expect(stored).toEqual(tasks);
      });

      it('leaves a task that already exists untouched when it is put again', async () => {
        // Prepare
        await createJobWithTasks(1);
        const claim = await store.claim(claimRequest());

        // Act
        await store.putTasks([{ ...pendingTask(jobId, 0), bytes: 1, sha256: 'other' }]);
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(claim.claimed).toBe(true);
        expect(stored).toEqual(claim.claimed ? claim.task : undefined);
        expect(stored?.bytes).toBe(pendingTask(jobId, 0).bytes);
      });

      it('returns undefined from getTask for a task that does not exist', async () => {
        // Prepare
        await createJobWithTasks(2);

        // Act
        const unknownIndex = await store.getTask(jobId, 2);
        const unknownJob = await store.getTask(`job-${randomUUID()}`, 0);

        // Assess
        expect(unknownIndex).toBeUndefined();
        expect(unknownJob).toBeUndefined();
      });

      it('lists the tasks of a job in index order, whatever order they were put in', async () => {
        // Prepare
        await store.createJob(jobRecord());
        const shuffled = Array.from({ length: 30 }, (_, i) => (i * 7) % 30);
        await store.putTasks(shuffled.slice(0, 15).map((index) => pendingTask(jobId, index)));
        await store.putTasks(shuffled.slice(15).map((index) => pendingTask(jobId, index)));

        // Act
        const tasks = await store.listTasks(jobId);

        // Assess
        expect(indicesOf(tasks)).toEqual(Array.from({ length: 30 }, (_, i) => i));
        expect(tasks[12]).toEqual(pendingTask(jobId, 12));
      });

      it('lists only the tasks in the state asked for', async () => {
        // Prepare
        await createJobWithTasks(5);
        for (const index of [1, 2, 3, 4])
          await store.claim(claimRequest({ index, claimId: `claim-${index}` }));
        await store.finish(finishRequest({ index: 2, claimId: 'claim-2', outcome: TaskState.completed }));
        await store.finish(finishRequest({ index: 3, claimId: 'claim-3', outcome: TaskState.failed }));
        await store.finish(finishRequest({ index: 4, claimId: 'claim-4', outcome: TaskState.retrying }));

        // Act
        const byState = {
          pending: await store.listTasks(jobId, TaskState.pending),
          processing: await store.listTasks(jobId, TaskState.processing),
          completed: await store.listTasks(jobId, TaskState.completed),
          failed: await store.listTasks(jobId, TaskState.failed),
          retrying: await store.listTasks(jobId, TaskState.retrying),
        };

        // Assess
        expect({
          pending: indicesOf(byState.pending),
          processing: indicesOf(byState.processing),
          completed: indicesOf(byState.completed),
          failed: indicesOf(byState.failed),
          retrying: indicesOf(byState.retrying),
        }).toEqual({ pending: [0], processing: [1], completed: [2], failed: [3], retrying: [4] });
        expect(byState.completed[0]?.state).toBe(TaskState.completed);
      });

      it('lists no tasks for a job that does not exist', async () => {
        // Prepare
        await createJobWithTasks(1);

        // Act
        const tasks = await store.listTasks(`job-${randomUUID()}`);

        // Assess
        expect(tasks).toEqual([]);
      });
    });

    describe('claim', () => {
      it('lets the first claim of attempt 1 take a pending task and start its lease', async () => {
        // Prepare
        await createJobWithTasks(1);

        // Act
        const result = await store.claim(claimRequest());
        const stored = await store.getTask(jobId, 0);

        // Assess
        const attempt: Attempt = {
          attempt: 1,
          target: 'aws',
          workerId: 'worker-1',
          claimId: 'claim-1',
          startedAt: T0,
        };
        expect(result).toEqual({
          claimed: true,
          task: {
            ...pendingTask(jobId, 0),
            state: TaskState.processing,
            attempts: [attempt],
            leaseExpiresAt: T0 + LEASE_MS,
            updatedAt: T0,
          },
        });
        expect(stored).toEqual(result.claimed ? result.task : undefined);
      });

      it('refuses a second claim of the same attempt while the lease holds', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());

        // Act
        const result = await store.claim(claimRequest({ claimId: 'claim-2', now: T0 + LEASE_MS - 1 }));
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(result).toEqual({ claimed: false, state: TaskState.processing });
        expect(stored?.attempts.map((attempt) => attempt.claimId)).toEqual(['claim-1']);
        expect(stored?.leaseExpiresAt).toBe(T0 + LEASE_MS);
      });

      it('refuses a claim for an attempt other than the one a pending task waits for', async () => {
        // Prepare
        await createJobWithTasks(1);

        // Act
        const result = await store.claim(claimRequest({ attempt: 2 }));
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(result).toEqual({ claimed: false, state: TaskState.pending });
        expect(stored).toEqual(pendingTask(jobId, 0));
      });

      it('refuses a claim for the next attempt while the current one is processing, even past its lease', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());

        // Act
        const result = await store.claim(
          claimRequest({ attempt: 2, claimId: 'claim-2', now: T0 + 2 * LEASE_MS }),
        );
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(result).toEqual({ claimed: false, state: TaskState.processing });
        expect(stored?.attempts.map((attempt) => attempt.claimId)).toEqual(['claim-1']);
      });

      it('lets a claim of the same attempt take over once the lease has run out', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());
        const later = T0 + LEASE_MS + 1;

        // Act
        const result = await store.claim(
          claimRequest({ workerId: 'worker-2', claimId: 'claim-2', now: later }),
        );
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(result.claimed).toBe(true);
        expect(stored?.state).toBe(TaskState.processing);
        expect(stored?.leaseExpiresAt).toBe(later + LEASE_MS);
        expect(stored?.attempts).toEqual([
          { attempt: 1, target: 'aws', workerId: 'worker-2', claimId: 'claim-2', startedAt: later },
        ]);
      });

      it('refuses to finish a try by the claim that was taken over, and lets the new holder finish it', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());
        await store.claim(claimRequest({ claimId: 'claim-2', now: T0 + LEASE_MS + 1 }));

        // Act
        const bySuperseded = await store.finish(finishRequest({ now: T0 + LEASE_MS + 2 }));
        const afterSuperseded = await store.getTask(jobId, 0);
        const byHolder = await store.finish(finishRequest({ claimId: 'claim-2', now: T0 + LEASE_MS + 3 }));

        // Assess
        expect(bySuperseded).toBe(false);
        expect(afterSuperseded?.state).toBe(TaskState.processing);
        expect(byHolder).toBe(true);
        expect((await store.getTask(jobId, 0))?.state).toBe(TaskState.completed);
      });

      it('lets attempt 2 claim a task that is retrying after attempt 1', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());
        await store.finish(finishRequest({ outcome: TaskState.retrying, error: TIMEOUT_ERROR }));

        // Act
        const again = await store.claim(claimRequest({ attempt: 1, claimId: 'claim-1b', now: T0 + 2000 }));
        const next = await store.claim(
          claimRequest({ attempt: 2, target: 'gcp', claimId: 'claim-2', now: T0 + 2000 }),
        );

        // Assess
        expect(again).toEqual({ claimed: false, state: TaskState.retrying });
        expect(next.claimed).toBe(true);
        expect(next.claimed && next.task.attempts.map((attempt) => attempt.claimId)).toEqual([
          'claim-1',
          'claim-2',
        ]);
        expect((await store.getTask(jobId, 0))?.state).toBe(TaskState.processing);
      });

      it.each([TaskState.completed, TaskState.failed] as const)(
        'refuses any claim on a task that is %s for good',
        async (outcome) => {
          // Prepare
          await createJobWithTasks(1);
          await store.claim(claimRequest());
          await store.finish(finishRequest({ outcome }));

          // Act
          const sameAttempt = await store.claim(claimRequest({ claimId: 'claim-2', now: T0 + 2 * LEASE_MS }));
          const nextAttempt = await store.claim(
            claimRequest({ attempt: 2, claimId: 'claim-3', now: T0 + 2 * LEASE_MS }),
          );

          // Assess
          expect(sameAttempt).toEqual({ claimed: false, state: outcome });
          expect(nextAttempt).toEqual({ claimed: false, state: outcome });
        },
      );

      it('creates a task that was never put when try 1 claims it, as the cloud ingest leaves it', async () => {
        // Prepare
        await createJobWithTasks(1);

        // Act
        const result = await store.claim(claimRequest({ index: 7 }));
        const again = await store.claim(claimRequest({ index: 7, claimId: 'claim-2' }));
        const stored = await store.getTask(jobId, 7);

        // Assess
        expect(result.claimed).toBe(true);
        expect(again).toEqual({ claimed: false, state: TaskState.processing });
        expect(stored).toMatchObject({
          jobId,
          index: 7,
          state: TaskState.processing,
          bytes: 1007,
          sha256: 'sha256-of-chunk-7',
          leaseExpiresAt: T0 + LEASE_MS,
          attempts: [{ attempt: 1, target: 'aws', workerId: 'worker-1', claimId: 'claim-1', startedAt: T0 }],
        });
      });

      it('answers missing to a later try of a task that was never recorded', async () => {
        // Prepare
        await createJobWithTasks(1);

        // Act
        const result = await store.claim(claimRequest({ index: 1, attempt: 2 }));

        // Assess
        expect(result).toEqual({ claimed: false, state: 'missing' });
        expect(await store.getTask(jobId, 1)).toBeUndefined();
      });
    });

    describe('finish', () => {
      it.each([TaskState.completed, TaskState.retrying, TaskState.failed] as const)(
        'ends a try as %s for the claim holder exactly once',
        async (outcome) => {
          // Prepare
          await createJobWithTasks(1);
          await store.claim(claimRequest());

          // Act
          const first = await store.finish(finishRequest({ outcome, now: T0 + 1000 }));
          const second = await store.finish(finishRequest({ outcome, now: T0 + 2000 }));
          const stored = await store.getTask(jobId, 0);

          // Assess
          expect(first).toBe(true);
          expect(second).toBe(false);
          expect(stored?.state).toBe(outcome);
          expect(stored?.leaseExpiresAt).toBeUndefined();
          expect(stored?.updatedAt).toBe(T0 + 1000);
          expect(stored?.attempts).toEqual([firstTryEnded(outcome)]);
        },
      );

      it('refuses to end a try for a claim that never held the task', async () => {
        // Prepare
        await createJobWithTasks(2);
        await store.claim(claimRequest());

        // Act
        const wrongClaim = await store.finish(finishRequest({ claimId: 'claim-other' }));
        const unclaimedTask = await store.finish(finishRequest({ index: 1 }));
        const unknownTask = await store.finish(finishRequest({ index: 2 }));

        // Assess
        expect([wrongClaim, unclaimedTask, unknownTask]).toEqual([false, false, false]);
        expect((await store.getTask(jobId, 0))?.state).toBe(TaskState.processing);
        expect((await store.getTask(jobId, 1))?.state).toBe(TaskState.pending);
      });

      it('records bytesOut when a try completes', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());

        // Act
        await store.finish(finishRequest({ outcome: TaskState.completed, bytesOut: 321 }));
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(stored?.bytesOut).toBe(321);
      });

      it("records where a completed try's rejects lie, and how many, when it has any", async () => {
        // Prepare
        await createJobWithTasks(2);
        await store.claim(claimRequest());

        // Act
        await store.finish(
          finishRequest({
            outcome: TaskState.completed,
            result: 'unit:0:10',
            rejects: 'unit:10:90',
            rejected: 2,
          }),
        );
        await store.claimAndFinish(wholeTry({ index: 1, result: 'unit:100:10' }));
        const [withRejects, without] = await Promise.all([store.getTask(jobId, 0), store.getTask(jobId, 1)]);

        // Assess
        expect(withRejects).toMatchObject({ result: 'unit:0:10', rejects: 'unit:10:90', rejected: 2 });
        expect(without?.result).toBe('unit:100:10');
        expect(without?.rejects).toBeUndefined();
        expect(without?.rejected).toBeUndefined();
      });

      it.each([
        [
          'claimed, then finished,',
          async () => {
            await store.claim(claimRequest());
            await store.finish(finishRequest({ outcome: TaskState.failed, error: POISON_ERROR }));
          },
        ],
        [
          'recorded whole',
          () => store.claimAndFinish(wholeTry({ outcome: TaskState.failed, error: POISON_ERROR })),
        ],
      ])('records the error on the task and on its try when a try %s fails for good', async (_, endTry) => {
        // Prepare
        await createJobWithTasks(1);

        // Act
        await endTry();
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(stored?.state).toBe(TaskState.failed);
        expect(stored?.error).toEqual(POISON_ERROR);
        expect(stored?.attempts[0]?.error).toEqual(POISON_ERROR);
      });

      it('keeps the history of tries in order, with target, worker, claim, times, outcome and error', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest({ target: 'aws', workerId: 'worker-a', claimId: 'claim-a', now: T0 }));
        await store.finish(
          finishRequest({
            claimId: 'claim-a',
            outcome: TaskState.retrying,
            error: TIMEOUT_ERROR,
            now: T0 + 100,
          }),
        );
        await store.claim(
          claimRequest({ attempt: 2, target: 'gcp', workerId: 'unknown', claimId: 'claim-b', now: T0 + 200 }),
        );

        // Act
        await store.finish(
          finishRequest({
            attempt: 2,
            claimId: 'claim-b',
            outcome: TaskState.completed,
            workerId: 'worker-b',
            now: T0 + 300,
          }),
        );
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(stored?.attempts).toEqual([
          {
            attempt: 1,
            target: 'aws',
            workerId: 'worker-a',
            claimId: 'claim-a',
            startedAt: T0,
            endedAt: T0 + 100,
            outcome: TaskState.retrying,
            error: TIMEOUT_ERROR,
          },
          {
            attempt: 2,
            target: 'gcp',
            workerId: 'worker-b',
            claimId: 'claim-b',
            startedAt: T0 + 200,
            endedAt: T0 + 300,
            outcome: TaskState.completed,
          },
        ]);
      });
    });

    describe('claimAndFinish', () => {
      it.each([TaskState.completed, TaskState.retrying, TaskState.failed] as const)(
        'records try 1 of a task it creates, whole and ended as %s, exactly once',
        async (outcome) => {
          // Prepare
          await store.createJob(jobRecord());

          // Act
          const first = await store.claimAndFinish(wholeTry({ index: 3, outcome, error: TIMEOUT_ERROR }));
          const second = await store.claimAndFinish(wholeTry({ index: 3, claimId: 'claim-2', outcome }));
          const stored = await store.getTask(jobId, 3);

          // Assess
          expect([first, second]).toEqual([true, false]);
          expect(stored).toMatchObject({
            jobId,
            index: 3,
            state: outcome,
            bytes: 1003,
            sha256: 'sha256-of-chunk-3',
          });
          expect(stored?.updatedAt).toBe(T0 + 1000);
          expect(stored?.leaseExpiresAt).toBeUndefined();
          expect(stored?.attempts).toEqual([{ ...firstTryEnded(outcome), error: TIMEOUT_ERROR }]);
        },
      );

      it('records the next try of a retrying task after the tries before it, with its output', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claimAndFinish(wholeTry({ outcome: TaskState.retrying, error: TIMEOUT_ERROR }));

        // Act
        const recorded = await store.claimAndFinish(
          wholeTry({
            attempt: 2,
            claimId: 'claim-2',
            target: 'gcp',
            workerId: 'worker-2',
            startedAt: T0 + 2000,
            now: T0 + 2500,
            durationMs: 123.5,
            bytesOut: 321,
            result: 'segment-1#0',
          }),
        );
        const stored = await store.getTask(jobId, 0);

        // Assess
        expect(recorded).toBe(true);
        expect(stored).toMatchObject({ state: TaskState.completed, bytesOut: 321, result: 'segment-1#0' });
        expect(stored?.attempts.map((a) => [a.attempt, a.target, a.outcome])).toEqual([
          [1, 'aws', TaskState.retrying],
          [2, 'gcp', TaskState.completed],
        ]);
        expect(stored?.attempts[1]).toMatchObject({
          startedAt: T0 + 2000,
          endedAt: T0 + 2500,
          durationMs: 123.5,
        });
      });

      it('refuses a try that another delivery holds, even past its lease, and lets the holder end it', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());

        // Act
        const whole = await store.claimAndFinish(wholeTry({ claimId: 'claim-2', now: T0 + 2 * LEASE_MS }));
        const held = await store.finish(finishRequest());

        // Assess
        expect([whole, held]).toEqual([false, true]);
        expect((await store.getTask(jobId, 0))?.attempts.map((a) => a.claimId)).toEqual(['claim-1']);
      });

      it('refuses a try other than the one the task waits for, and a later try of a task never recorded', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claimAndFinish(wholeTry({ outcome: TaskState.retrying, error: TIMEOUT_ERROR }));
        const before = await store.getTask(jobId, 0);

        // Act
        const ended = await store.claimAndFinish(wholeTry({ claimId: 'claim-2' }));
        const skipped = await store.claimAndFinish(wholeTry({ attempt: 3, claimId: 'claim-3' }));
        const unrecorded = await store.claimAndFinish(wholeTry({ index: 1, attempt: 2 }));
        const claimAfter = await store.claim(claimRequest({ claimId: 'claim-4' }));

        // Assess
        expect([ended, skipped, unrecorded]).toEqual([false, false, false]);
        expect(claimAfter).toEqual({ claimed: false, state: TaskState.retrying });
        expect(await store.getTask(jobId, 0)).toEqual(before);
        expect(await store.getTask(jobId, 1)).toBeUndefined();
      });
    });

    describe.skipIf(options.concurrencyUntestableBecause !== undefined)('atomicity', () => {
      it('lets exactly one of 10 concurrent claims of the same attempt win', async () => {
        // Prepare
        await createJobWithTasks(1);
        const claimIds = Array.from({ length: 10 }, (_, i) => `claim-${i}`);

        // Act
        const results = await Promise.all(claimIds.map((claimId) => store.claim(claimRequest({ claimId }))));
        const stored = await store.getTask(jobId, 0);

        // Assess
        const winners = results.flatMap((result, i) => (result.claimed ? [claimIds[i]] : []));
        expect(winners).toHaveLength(1);
        expect(results.filter((result) => !result.claimed)).toEqual(
          Array.from({ length: 9 }, () => ({ claimed: false, state: TaskState.processing })),
        );
        expect(stored?.attempts.map((attempt) => attempt.claimId)).toEqual(winners);
      });

      it('lets exactly one of 10 concurrent takeovers of an expired lease win', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());
        const claimIds = Array.from({ length: 10 }, (_, i) => `takeover-${i}`);

        // Act
        const results = await Promise.all(
          claimIds.map((claimId, i) => store.claim(claimRequest({ claimId, now: T0 + LEASE_MS + 1 + i }))),
        );
        const stored = await store.getTask(jobId, 0);

        // Assess
        const winners = results.flatMap((result, i) => (result.claimed ? [claimIds[i]] : []));
        expect(winners).toHaveLength(1);
        expect(stored?.attempts.map((attempt) => attempt.claimId)).toEqual(winners);
      });

      it('lets exactly one of 10 concurrent finishes of the same claim succeed', async () => {
        // Prepare
        await createJobWithTasks(1);
        await store.claim(claimRequest());
        const outcomes: Outcome[] = [TaskState.completed, TaskState.retrying, TaskState.failed];
        const requests = Array.from({ length: 10 }, (_, i) =>
          finishRequest({ outcome: outcomes[i % 3], now: T0 + 1000 + i, error: TIMEOUT_ERROR }),
        );

        // Act
        const results = await Promise.all(requests.map((request) => store.finish(request)));
        const stored = await store.getTask(jobId, 0);

        // Assess
        const winner = requests[results.indexOf(true)];
        expect(results.filter((finished) => finished)).toHaveLength(1);
        expect(stored?.state).toBe(winner?.outcome);
        expect(stored?.attempts[0]?.endedAt).toBe(winner?.now);
      });

      it('lets exactly one of 10 concurrent whole tries, or claims, of the same attempt record it', async () => {
        // Prepare
        await createJobWithTasks(1);
        const claimIds = Array.from({ length: 10 }, (_, i) => `claim-${i}`);

        // Act
        const results = await Promise.all(
          claimIds.map((claimId, i) =>
            i % 2 === 0
              ? store.claimAndFinish(wholeTry({ claimId }))
              : store.claim(claimRequest({ claimId })).then((result) => result.claimed),
          ),
        );
        const stored = await store.getTask(jobId, 0);

        // Assess
        const winners = claimIds.filter((_, i) => results[i]);
        expect(winners).toHaveLength(1);
        expect(stored?.attempts.map((attempt) => attempt.claimId)).toEqual(winners);
      });

      it('lets concurrent claims of different tasks all win', async () => {
        // Prepare
        await createJobWithTasks(10);

        // Act
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, index) =>
            store.claim(claimRequest({ index, claimId: `claim-${index}` })),
          ),
        );
        const processing = await store.listTasks(jobId, TaskState.processing);

        // Assess
        expect(results.every((result) => result.claimed)).toBe(true);
        expect(indicesOf(processing)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      });
    });
  });
};
