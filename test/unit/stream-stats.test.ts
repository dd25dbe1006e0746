import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { StreamRecordError, streamDelta } from '../../src/cloud/stream-deltas.ts';
import { emptyStats, mergeStats, StatsCollector, type StatsData } from '../../src/core/stats/stats.ts';
import {
  applyDeltas,
  compareSequenceNumbers,
  emptySummary,
  type StatsDelta,
} from '../../src/core/stats/summary.ts';
import { type TaskImage, taskTransitionStats } from '../../src/core/stats/task-transition.ts';

const STREAM = 'arn:aws:dynamodb:us-east-1:000000000000:table/fanout/stream/2026-01-01T00:00:00.000';

const attempt = (n: number, target: string, startedAt: number, end?: Partial<TaskImage['attempts'][0]>) => ({
  attempt: n,
  target,
  workerId: `w-${n}`,
  claimId: `c-${n}`,
  startedAt,
  ...end,
});

const firstTry = attempt(1, 'aws', 100, {
  endedAt: 160,
  outcome: 'retrying',
  error: { name: 'TransientError', message: 'x', retryable: true },
});

/** The images a task goes through when try 1 on aws fails retryably and try 2 on gcp completes. */
const RETRIED_TASK = {
  created: { state: 'processing', bytes: 1000, attempts: [attempt(1, 'aws', 100)] },
  firstEnded: {
    state: 'retrying',
    bytes: 1000,
    attempts: [firstTry],
  },
  secondStarted: {
    state: 'processing',
    bytes: 1000,
    attempts: [firstTry, attempt(2, 'gcp', 300)],
  },
  secondEnded: {
    state: 'completed',
    bytes: 1000,
    bytesOut: 400,
    attempts: [firstTry, attempt(2, 'gcp', 300, { endedAt: 345, outcome: 'completed' })],
  },
} satisfies Record<string, TaskImage>;

const sum = (deltas: (StatsData | undefined)[]): StatsData =>
  deltas.reduce<StatsData>((total, delta) => (delta ? mergeStats(total, delta) : total), emptyStats());

const record = (
  sequenceNumber: string | undefined,
  keys: { pk: string; sk: string },
  before?: Record<string, unknown>,
  after?: Record<string, unknown>,
): DynamoDBRecord => ({
  eventID: `e-${sequenceNumber}`,
  eventName: before === undefined ? 'INSERT' : after === undefined ? 'REMOVE' : 'MODIFY',
  eventSource: 'aws:dynamodb',
  eventSourceARN: STREAM,
  dynamodb: {
    Keys: marshall(keys) as never,
    ...(sequenceNumber !== undefined && { SequenceNumber: sequenceNumber }),
    ...(before && { OldImage: marshall({ ...keys, ...before }) as never }),
    ...(after && { NewImage: marshall({ ...keys, ...after }) as never }),
  },
});

const delta = (sequenceNumber: string, data?: StatsData, extra: Partial<StatsDelta> = {}): StatsDelta => ({
  jobId: 'j1',
  shard: 'shard-1',
  sequenceNumber,
  ...(data && { data }),
  ...extra,
});

describe('taskTransitionStats', () => {
  it('counts a task created by the claim of try 1 as created and started on its target', () => {
    // Prepare
    const expected = new StatsCollector();
    expected.taskCreated(1000);
    expected.attemptStarted('aws', 1, undefined, 100);

    // Act
    const data = taskTransitionStats(undefined, RETRIED_TASK.created);

    // Assess
    expect(data).toEqual(expected.snapshot());
    expect(data?.states).toMatchObject({ pending: 0, processing: 1 });
    expect(data?.tasks).toBe(1);
    expect(data?.bytesIn).toBe(1000);
  });

  it('counts a retryable end with its duration from start to end when the store keeps none', () => {
    // Prepare
    const { created, firstEnded } = RETRIED_TASK;

    // Act
    const data = taskTransitionStats(created, firstEnded);

    // Assess
    expect(data?.states).toMatchObject({ processing: -1, retrying: 1 });
    expect(data?.targets.aws).toMatchObject({ attempts: 1, retryableFailures: 1, permanentFailures: 0 });
    expect(data?.durations).toMatchObject({ count: 1, min: 60, max: 60 });
    expect(data?.attemptsHistogram).toEqual({});
  });

  it('counts a retry on another target as redistributed to it', () => {
    // Prepare
    const { firstEnded, secondStarted } = RETRIED_TASK;

    // Act
    const data = taskTransitionStats(firstEnded, secondStarted);

    // Assess
    expect(data).toMatchObject({ attempts: 1, retries: 1, redistributed: 1, firstAt: 300 });
    expect(data?.states).toMatchObject({ retrying: -1, processing: 1 });
    expect(data?.targets.gcp?.redistributedIn).toBe(1);
  });

  it('counts a retry on the same target as a retry that was not redistributed', () => {
    // Prepare
    const before = RETRIED_TASK.firstEnded;
    const after = {
      ...RETRIED_TASK.secondStarted,
      attempts: [before.attempts[0], attempt(2, 'aws', 300)],
    } as TaskImage;

    // Act
    const data = taskTransitionStats(before, after);

    // Assess
    expect(data).toMatchObject({ retries: 1, redistributed: 0 });
    expect(data?.targets).toEqual({});
  });

  it('counts a completion with its output bytes and the duration the store recorded', () => {
    // Prepare
    const before = RETRIED_TASK.secondStarted;
    const after = structuredClone(RETRIED_TASK.secondEnded) as TaskImage;
    (after.attempts[1] as { durationMs?: number }).durationMs = 12.5;

    // Act
    const data = taskTransitionStats(before, after);

    // Assess
    expect(data).toMatchObject({ bytesDone: 1000, bytesOut: 400, lastAt: 345, attemptsHistogram: { 2: 1 } });
    expect(data?.states).toMatchObject({ processing: -1, completed: 1 });
    expect(data?.targets.gcp).toMatchObject({ attempts: 1, completed: 1 });
    expect(data?.durations).toMatchObject({ count: 1, min: 12.5 });
  });

  it('counts a permanent failure against the chunk, not the target', () => {
    // Prepare
    const error = { name: 'ChunkValidationError', message: 'bad', retryable: false };
    const after: TaskImage = {
      state: 'failed',
      bytes: 10,
      attempts: [attempt(1, 'aws', 0, { endedAt: 5, outcome: 'failed', error })],
    };

    // Act
    const data = taskTransitionStats(RETRIED_TASK.created, after);

    // Assess
    expect(data?.states).toMatchObject({ processing: -1, failed: 1 });
    expect(data?.targets.aws).toMatchObject({ permanentFailures: 1, retryableFailures: 0 });
    expect(data?.attemptsHistogram).toEqual({ 1: 1 });
  });

  it('counts nothing for a take-over of the same try, a removal or a rewrite of a finished task', () => {
    // Prepare
    const { created, secondEnded } = RETRIED_TASK;
    const takenOver = { ...created, attempts: [{ ...attempt(1, 'aws', 900), workerId: 'w-other' }] };

    // Act
    const changes = [
      taskTransitionStats(created, takenOver),
      taskTransitionStats(secondEnded, undefined),
      taskTransitionStats(secondEnded, { ...secondEnded, updatedAt: 999 }),
    ];

    // Assess
    expect(changes).toEqual([undefined, undefined, undefined]);
  });

  it('counts a pending task and its first claim as the embedded store writes them', () => {
    // Prepare
    const pending: TaskImage = { state: 'pending', bytes: 1000, attempts: [] };
    const expected = new StatsCollector();
    expected.taskCreated(1000);
    expected.attemptStarted('aws', 1, undefined, 100);

    // Act
    const created = taskTransitionStats(undefined, pending);
    const claimed = taskTransitionStats(pending, RETRIED_TASK.created);

    // Assess
    expect(created?.states.pending).toBe(1);
    expect(sum([created, claimed])).toEqual(expected.snapshot());
  });

  it('over a whole task sums to what one collector fed the same transitions holds', () => {
    // Prepare
    const { created, firstEnded, secondStarted, secondEnded } = RETRIED_TASK;
    const expected = new StatsCollector();
    expected.taskCreated(1000);
    expected.attemptStarted('aws', 1, undefined, 100);
    expected.attemptEnded({
      target: 'aws',
      attempt: 1,
      outcome: 'retrying',
      startedAt: 100,
      endedAt: 160,
      durationMs: 60,
      bytesIn: 1000,
      retryable: true,
    });
    expected.attemptStarted('gcp', 2, 'aws', 300);
    expected.attemptEnded({
      target: 'gcp',
      attempt: 2,
      outcome: 'completed',
      startedAt: 300,
      endedAt: 345,
      durationMs: 45,
      bytesIn: 1000,
      bytesOut: 400,
    });

    // Act
    const total = sum([
      taskTransitionStats(undefined, created),
      taskTransitionStats(created, firstEnded),
      taskTransitionStats(firstEnded, secondStarted),
      taskTransitionStats(secondStarted, secondEnded),
    ]);

    // Assess
    expect(total).toEqual(expected.snapshot());
    expect(total.states).toEqual({
      pending: 0,
      processing: 0,
      retrying: 0,
      completed: 1,
      failed: 0,
      cancelled: 0,
    });
  });
});

describe('taskTransitionStats: tries recorded whole at their end', () => {
  it('counts the same as claim-then-finish when each try is written once, and mixes with claimed tries', () => {
    // Prepare
    const { created, firstEnded, secondStarted, secondEnded } = RETRIED_TASK;
    const claimed = sum([
      taskTransitionStats(undefined, created),
      taskTransitionStats(created, firstEnded),
      taskTransitionStats(firstEnded, secondStarted),
      taskTransitionStats(secondStarted, secondEnded),
    ]);

    // Act
    const whole = sum([
      taskTransitionStats(undefined, firstEnded),
      taskTransitionStats(firstEnded, secondEnded),
    ]);
    const mixed = sum([
      taskTransitionStats(undefined, firstEnded),
      taskTransitionStats(firstEnded, secondStarted),
      taskTransitionStats(secondStarted, secondEnded),
    ]);

    // Assess
    expect(whole).toEqual(claimed);
    expect(mixed).toEqual(claimed);
    expect(whole.states).toEqual({
      pending: 0,
      processing: 0,
      retrying: 0,
      completed: 1,
      failed: 0,
      cancelled: 0,
    });
    expect(whole.attempts).toBe(2);
  });

  it('counts the cancel of an abandoned try as the end of that processing, and the task cancelled', () => {
    // Prepare: try 2 started, its worker died, then the job was cancelled
    const started = taskTransitionStats(undefined, RETRIED_TASK.created);
    const retried = taskTransitionStats(RETRIED_TASK.created, RETRIED_TASK.firstEnded);
    const taken = taskTransitionStats(RETRIED_TASK.firstEnded, RETRIED_TASK.secondStarted);
    const cancelled: TaskImage = { state: 'cancelled', bytes: 1000, attempts: [firstTry] };

    // Act
    const total = sum([started, retried, taken, taskTransitionStats(RETRIED_TASK.secondStarted, cancelled)]);

    // Assess
    expect(total.states).toEqual({
      pending: 0,
      processing: 0,
      retrying: 0,
      completed: 0,
      failed: 0,
      cancelled: 1,
    });
    expect(total.attempts).toBe(2);
  });

  it('counts a rewrite of a retrying task that adds no try as nothing', () => {
    // Prepare
    const { firstEnded } = RETRIED_TASK;

    // Act
    const rewrite = taskTransitionStats(firstEnded, { ...firstEnded, updatedAt: 999 });

    // Assess
    expect(rewrite).toBeUndefined();
  });
});

describe('streamDelta', () => {
  const task = { pk: 'JOB#j1', sk: 'TASK#0000000007' };
  const job = { pk: 'JOB#j1', sk: 'JOB' };

  it('maps a task record to its job, shard, sequence number and transition', () => {
    // Prepare
    const { created, firstEnded } = RETRIED_TASK;

    // Act
    const mapped = streamDelta(record('123', task, created, firstEnded));

    // Assess
    expect(mapped).toEqual({
      jobId: 'j1',
      shard: STREAM,
      sequenceNumber: '123',
      data: taskTransitionStats(created, firstEnded),
    });
  });

  it('maps the job record that sets its total, and nothing else of the job item', () => {
    // Prepare
    const base = { jobId: 'j1', createdAt: 1, options: {} };

    // Act
    const totalSet = streamDelta(record('5', job, base, { ...base, chunksTotal: 3 }));
    const created = streamDelta(record('4', job, undefined, base));
    const expiring = streamDelta(
      record('6', job, { ...base, chunksTotal: 3 }, { ...base, chunksTotal: 3, expiresAt: 9 }),
    );

    // Assess
    expect(totalSet).toEqual({ jobId: 'j1', shard: STREAM, sequenceNumber: '5', chunksTotal: 3 });
    expect(created).toBeUndefined();
    expect(expiring).toBeUndefined();
  });

  it('ignores the summaries it writes itself and items of other shapes', () => {
    // Prepare
    const records = [
      record('1', { pk: 'JOB#j1', sk: 'SUMMARY' }, undefined, { version: 1 }),
      record('2', { pk: 'STATS', sk: 'ALL' }, undefined, { version: 1 }),
      record('3', task, RETRIED_TASK.created, RETRIED_TASK.created),
    ];

    // Act
    const mapped = records.map(streamDelta);

    // Assess
    expect(mapped).toEqual([undefined, undefined, undefined]);
  });

  it('refuses a record without a sequence number', () => {
    // Prepare
    const broken = record(undefined, task, undefined, RETRIED_TASK.created);

    // Act
    const map = () => streamDelta(broken);

    // Assess
    expect(map).toThrow(StreamRecordError);
  });
});

describe('compareSequenceNumbers', () => {
  it('compares decimal strings of different lengths as integers', () => {
    // Prepare
    const long = '100000000000000000000000000009';

    // Act
    const results = [
      compareSequenceNumbers('9', '10'),
      compareSequenceNumbers(long, '99999999999999999999999999999'),
      compareSequenceNumbers('0042', '42'),
    ];

    // Assess
    expect(results).toEqual([-1, 1, 0]);
  });
});

describe('applyDeltas', () => {
  const { created, firstEnded } = RETRIED_TASK;
  const start = taskTransitionStats(undefined, created);
  const end = taskTransitionStats(created, firstEnded);

  it('applies each delta once: the same deltas again change nothing', () => {
    // Prepare
    const deltas = [delta('9', start), delta('10', end)];
    const first = applyDeltas(emptySummary('j1'), deltas, 1_000, 60);

    // Act
    const again = applyDeltas(first.summary, deltas, 2_000, 60);

    // Assess
    expect(first).toMatchObject({ applied: 2, skipped: 0 });
    expect(first.summary.stats).toEqual(sum([start, end]));
    expect(first.summary.sequences).toEqual({ 'shard-1': '10' });
    expect(again).toMatchObject({ applied: 0, skipped: 2, finished: false });
    expect(again.summary.stats).toEqual(first.summary.stats);
    expect(again.added).toEqual(emptyStats());
  });

  it('applies the part of a redelivered batch that is new, whatever the order of its records', () => {
    // Prepare
    const first = applyDeltas(emptySummary('j1'), [delta('9', start)], 1_000, 60);

    // Act
    const next = applyDeltas(first.summary, [delta('10', end), delta('9', start)], 2_000, 60);

    // Assess
    expect(next).toMatchObject({ applied: 1, skipped: 1 });
    expect(next.added).toEqual(end);
    expect(next.summary.stats).toEqual(sum([start, end]));
  });

  it('keeps the sequence numbers of each shard apart', () => {
    // Prepare
    const first = applyDeltas(emptySummary('j1'), [delta('500', start)], 1_000, 60);

    // Act
    const next = applyDeltas(first.summary, [delta('7', end, { shard: 'shard-2' })], 2_000, 60);

    // Assess
    expect(next.applied).toBe(1);
    expect(next.summary.sequences).toEqual({ 'shard-1': '500', 'shard-2': '7' });
  });

  it('finishes the job when its last chunk ends after its total is known', () => {
    // Prepare
    const failed = taskTransitionStats(created, {
      ...firstEnded,
      state: 'failed',
      attempts: [{ ...firstEnded.attempts[0], outcome: 'failed' }],
    } as TaskImage);
    const known = applyDeltas(
      emptySummary('j1'),
      [delta('1', start), delta('2', undefined, { chunksTotal: 1 })],
      1_000,
      60,
    );

    // Act
    const finished = applyDeltas(known.summary, [delta('3', failed)], 5_500, 60);

    // Assess
    expect(known.summary.status).toBeUndefined();
    expect(finished.finished).toBe(true);
    expect(finished.summary).toMatchObject({
      status: 'failed',
      finishedAt: 5_500,
      expiresAt: 65,
    });
  });

  it('finishes the job when its total arrives after its last chunk ended', () => {
    // Prepare
    const completed = taskTransitionStats(created, {
      ...created,
      state: 'completed',
      attempts: [attempt(1, 'aws', 100, { endedAt: 130, outcome: 'completed' })],
    });
    const ended = applyDeltas(emptySummary('j1'), [delta('1', start), delta('2', completed)], 1_000, 60);

    // Act
    const finished = applyDeltas(ended.summary, [delta('3', undefined, { chunksTotal: 1 })], 2_000, 60);
    const later = applyDeltas(finished.summary, [delta('4', undefined, { chunksTotal: 1 })], 3_000, 60);

    // Assess
    expect(ended.finished).toBe(false);
    expect(finished).toMatchObject({ finished: true, added: emptyStats() });
    expect(finished.summary).toMatchObject({ status: 'completed', finishedAt: 2_000, chunksTotal: 1 });
    expect(later.finished).toBe(false);
    expect(later.summary.finishedAt).toBe(2_000);
  });
});
