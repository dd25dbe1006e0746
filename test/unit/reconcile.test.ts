import { describe, expect, it } from 'vitest';
import { Reconciler } from '../../src/cloud/reconciler.ts';
import { type BreakerSnapshot, BreakerState, CircuitBreaker } from '../../src/core/breaker.ts';
import { TaskState } from '../../src/core/constants.ts';
import { downTargets, ingestState, strandedTry } from '../../src/core/reconcile.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { type CloudRig, cloudRig, drain, jobRequest, runQueues, stageJob } from '../support/cloud.ts';

const MINUTE = 60_000;
const RULES = { strandedAfterMs: 30 * MINUTE, breakerOpenMs: MINUTE, ingestStalledMs: 10 * MINUTE };
const DEADLINE = { afterMs: RULES.strandedAfterMs, maxDelayMs: 5000, down: [] as string[] };

const task = (state: TaskRecord['state'], overrides: Partial<TaskRecord> = {}): TaskRecord => ({
  jobId: 'job-1',
  index: 0,
  state,
  bytes: 10,
  sha256: 'ab'.repeat(32),
  attempts: [],
  updatedAt: 0,
  ...overrides,
});

const attempt = (n: number, target: string, endedAt?: number) => ({
  attempt: n,
  target,
  workerId: 'w',
  claimId: `c${n}`,
  startedAt: 0,
  ...(endedAt !== undefined && { endedAt }),
});

describe('ingestState', () => {
  it('tells a dead ingest by its checkpoint, and says where it stopped', () => {
    // Prepare
    const job = {
      createdAt: 0,
      ingest: { source: 'inputs/j/body', offset: 2048, chunks: 2, updatedAt: MINUTE },
    };

    // Act
    const alive = ingestState(job, MINUTE + RULES.ingestStalledMs - 1, RULES.ingestStalledMs);
    const dead = ingestState(job, MINUTE + RULES.ingestStalledMs, RULES.ingestStalledMs);

    // Assess
    expect(alive).toEqual({ kind: 'ingesting' });
    expect(dead).toEqual({
      kind: 'died',
      reason: 'its ingest stopped after 2 chunks (2048 bytes of inputs/j/body read): no progress for 600 s',
    });
  });

  it('counts from the job’s creation without a checkpoint; a total or a failure ends the question', () => {
    // Act
    const states = [
      ingestState({ createdAt: 0 }, RULES.ingestStalledMs, RULES.ingestStalledMs),
      ingestState({ createdAt: 0, chunksTotal: 9 }, 10 * RULES.ingestStalledMs, RULES.ingestStalledMs),
      ingestState({ createdAt: 0, failed: { reason: 'x', at: 1 } }, 0, RULES.ingestStalledMs),
    ];

    // Assess
    expect(states).toEqual([
      { kind: 'died', reason: 'its ingest stopped before its first checkpoint: no progress for 600 s' },
      { kind: 'ingested', total: 9 },
      { kind: 'failed' },
    ]);
  });
});

describe('downTargets', () => {
  it('names a target whose breaker has not closed since it opened breakerOpenMs ago, half-open probes failing', () => {
    // Prepare
    const clock = { now: 0 };
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1000 }, () => clock.now);
    breaker.onFailure(0);
    clock.now = 30_000;
    breaker.onFailure(clock.now - 1);
    const reopened = breaker.snapshot();
    const healthy = new CircuitBreaker().snapshot();

    // Act
    const early = downTargets(new Map([['gcp', reopened]]), MINUTE - 1, MINUTE);
    const late = downTargets(
      new Map<string, BreakerSnapshot>([
        ['gcp', reopened],
        ['aws', healthy],
      ]),
      MINUTE,
      MINUTE,
    );

    // Assess
    expect(reopened).toMatchObject({ state: BreakerState.open, openedAt: 30_000, downSince: 0 });
    expect(early).toEqual([]);
    expect(late).toEqual(['gcp']);
  });

  it('forgets how long a target was down once a success closes its breaker', () => {
    // Prepare
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 0 }, () => 5);
    breaker.onFailure(0);
    breaker.onSuccess(10);

    // Act
    const snapshot = breaker.snapshot();

    // Assess
    expect(snapshot.state).toBe(BreakerState.closed);
    expect(snapshot.downSince).toBeUndefined();
  });
});

describe('strandedTry', () => {
  it.each([
    ['a chunk with no task, sent long enough ago', undefined, { attempt: 1, reason: 'unclaimed' }],
    [
      'a retry never claimed after its longest delay',
      task(TaskState.retrying, { attempts: [attempt(1, 'gcp', 0)] }),
      { attempt: 2, previousTarget: 'gcp', reason: 'retry-lost' },
    ],
    [
      'a claim whose lease ran out long ago',
      task(TaskState.processing, { attempts: [attempt(1, 'aws', 0), attempt(2, 'gcp')], leaseExpiresAt: 0 }),
      { attempt: 2, previousTarget: 'aws', reason: 'lease-expired' },
    ],
  ])('finds %s', (_, recorded, expected) => {
    // Act
    const found = strandedTry(0, 0, recorded, RULES.strandedAfterMs + 5000, DEADLINE);

    // Assess
    expect(found).toEqual({ index: 0, ...expected });
  });

  it('finds nothing before the deadline, and nothing for a task that ended', () => {
    // Prepare
    const now = RULES.strandedAfterMs - 1;

    // Act
    const found = [
      strandedTry(0, 0, undefined, now, DEADLINE),
      strandedTry(0, 0, task(TaskState.retrying, { attempts: [attempt(1, 'gcp', 0)] }), now + 5000, DEADLINE),
      strandedTry(
        0,
        0,
        task(TaskState.processing, { attempts: [attempt(1, 'gcp')], leaseExpiresAt: 0 }),
        now,
        DEADLINE,
      ),
      strandedTry(0, 0, task(TaskState.completed), 10 * RULES.strandedAfterMs, DEADLINE),
      strandedTry(0, 0, task(TaskState.failed), 10 * RULES.strandedAfterMs, DEADLINE),
    ];

    // Assess
    expect(found).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('takes a try off a down target as soon as its lease runs out', () => {
    // Prepare
    const held = task(TaskState.processing, { attempts: [attempt(1, 'gcp')], leaseExpiresAt: 1000 });

    // Act
    const found = strandedTry(0, 0, held, 1000, { ...DEADLINE, down: ['gcp'] });
    const early = strandedTry(0, 0, held, 999, { ...DEADLINE, down: ['gcp'] });

    // Assess
    expect(found).toEqual({ index: 0, attempt: 1, reason: 'lease-expired' });
    expect(early).toBeUndefined();
  });
});

/** A reconciler over the rig's stores and router, its clock `ahead` ms past now. */
const reconciler = (rig: CloudRig, ahead: number) =>
  new Reconciler({
    tasks: rig.tasks,
    router: rig.router,
    health: rig.health,
    rules: RULES,
    maxDelayMs: 0,
    now: () => Date.now() + ahead,
  });

describe('Reconciler', () => {
  it('sends again the chunks whose messages were lost, once, and retires the job once they ended', async () => {
    // Prepare
    const rig = cloudRig();
    const request = jobRequest('transform:uppercase', { targets: ['aws'] });
    await stageJob(rig, 'job-a', request, ['alpha\n', 'beta\n', 'gamma\n']);
    const early = reconciler(rig, RULES.strandedAfterMs - 1000);
    const late = reconciler(rig, RULES.strandedAfterMs);

    // Act
    const before = await early.run();
    const found = await late.run();
    const again = await late.run();
    const outcomes = await runQueues(rig);
    const after = await late.run();

    // Assess
    expect(before.resent).toEqual({ unclaimed: 0, 'retry-lost': 0, 'lease-expired': 0 });
    expect(found).toMatchObject({ jobs: 1, retired: 0, resent: { unclaimed: 3 } });
    expect(again.resent.unclaimed).toBe(0);
    expect(outcomes).toEqual(['completed', 'completed', 'completed']);
    const tasks = await rig.tasks.listTasks('job-a');
    expect(tasks.map((t) => [t.state, t.attempts.length])).toEqual([
      [TaskState.completed, 1],
      [TaskState.completed, 1],
      [TaskState.completed, 1],
    ]);
    expect(after).toMatchObject({ jobs: 1, retired: 1 });
    expect(await rig.tasks.listActiveJobs()).toEqual([]);
  });

  it('sends the tries of a job with a target down for breakerOpenMs to its healthy targets, at once', async () => {
    // Prepare
    const rig = cloudRig();
    await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n', 'beta\n']);
    const down = new CircuitBreaker({ failureThreshold: 1 }, () => Date.now() - RULES.breakerOpenMs);
    down.onFailure(Date.now() - RULES.breakerOpenMs);
    await rig.health.update('gcp', () => down.snapshot());

    // Act
    const report = await reconciler(rig, RULES.breakerOpenMs).run();

    // Assess
    expect(report).toMatchObject({ down: ['gcp'], resent: { unclaimed: 2 } });
    expect((await drain(rig.queues.aws)).map((m) => [m.index, m.resent])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
  });

  it('lets a resent try take over a claim whose lease ran out, and the stale holder record nothing', async () => {
    // Prepare
    const rig = cloudRig({ leaseMs: 1 });
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase', { targets: ['aws'] }), [
      'alpha\n',
    ]);
    await rig.tasks.claim({
      ...(message as NonNullable<typeof message>),
      target: 'gcp',
      workerId: 'gone',
      claimId: 'stale',
      now: Date.now() - RULES.strandedAfterMs - 10,
      leaseMs: 1,
    });

    // Act
    const report = await reconciler(rig, 0).run();
    const outcomes = await runQueues(rig);
    const stale = await rig.tasks.finish({
      jobId: 'job-a',
      index: 0,
      attempt: 1,
      claimId: 'stale',
      outcome: TaskState.completed,
      now: Date.now(),
    });

    // Assess
    expect(report.resent['lease-expired']).toBe(1);
    expect(outcomes).toEqual(['completed']);
    expect(stale).toBe(false);
    const [done] = await rig.tasks.listTasks('job-a');
    expect(done?.attempts.map((a) => [a.target, a.outcome])).toEqual([['aws', TaskState.completed]]);
  });

  it('fails a job whose ingest died, with where it stopped, and retires it', async () => {
    // Prepare
    const rig = cloudRig();
    await rig.tasks.createJob({
      jobId: 'job-a',
      createdAt: Date.now(),
      options: { ...jobRequest('validate') },
    });

    // Act
    const report = await reconciler(rig, RULES.ingestStalledMs).run();

    // Assess
    expect(report).toMatchObject({ jobs: 1, ingestsDied: 1, retired: 1 });
    expect((await rig.tasks.getJob('job-a'))?.failed?.reason).toMatch(
      /^its ingest stopped before its first checkpoint/,
    );
    expect(await rig.tasks.listActiveJobs()).toEqual([]);
  });
});
