import { describe, expect, it } from 'vitest';
import { readOne } from '../../src/adapters/result-reading.ts';
import type { ChunkDelivery, ChunkMessage } from '../../src/cloud/messages.ts';
import { TaskState } from '../../src/core/constants.ts';
import { type CloudRig, cloudRig, decode, deliver, drain, jobRequest, stageJob } from '../support/cloud.ts';

const transient = { name: 'TransientError', message: 'flaky', retryable: true };
const poisoned = { name: 'PoisonChunkError', message: 'bad chunk', retryable: false };

/** Ends try 1 of a chunk straight in the task store, as a processor that stopped before its follow-up would. */
const endFirstTry = async (
  rig: CloudRig,
  message: ChunkMessage,
  outcome: typeof TaskState.retrying | typeof TaskState.failed,
): Promise<void> => {
  const now = Date.now();
  const claim = await rig.tasks.claim({
    jobId: message.jobId,
    index: message.index,
    attempt: 1,
    target: 'aws',
    workerId: 'aws-fn-0',
    claimId: 'claim-1',
    now,
    leaseMs: 60_000,
    bytes: message.bytes,
    sha256: message.sha256,
  });
  expect(claim.claimed).toBe(true);
  const ended = await rig.tasks.finish({
    jobId: message.jobId,
    index: message.index,
    attempt: 1,
    claimId: 'claim-1',
    outcome,
    now,
    error: outcome === TaskState.retrying ? transient : poisoned,
  });
  expect(ended).toBe(true);
};

describe('ChunkProcessor.process: a batch that succeeds', () => {
  it('completes each chunk once and stores the outputs as one unit per job', async () => {
    // Prepare
    const rig = cloudRig();
    const a = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), [
      'alpha\n',
      'beta\n',
      'gamma\n',
    ]);
    const b = await stageJob(rig, 'job-b', jobRequest('transform:uppercase,chaos:delay=5'), [
      'one\n',
      'two\n',
    ]);
    const batch = [a[0], b[0], a[1], b[1], a[2]].map((message) => deliver(message as ChunkMessage));

    // Act
    const results = await rig.processors.aws.process(batch);

    // Assess
    expect([...results.values()]).toEqual(Array(5).fill('completed'));
    expect(rig.results.puts.toSorted((x, y) => x.jobId.localeCompare(y.jobId))).toEqual([
      { jobId: 'job-a', count: 3 },
      { jobId: 'job-b', count: 2 },
    ]);
    const tasksA = await rig.tasks.listTasks('job-a');
    const tasksB = await rig.tasks.listTasks('job-b');
    expect(tasksA.map((t) => t.state)).toEqual(['completed', 'completed', 'completed']);
    expect(tasksB.map((t) => t.state)).toEqual(['completed', 'completed']);
    for (const task of [...tasksA, ...tasksB]) {
      expect(task.attempts).toHaveLength(1);
      expect(task.attempts[0]).toMatchObject({
        attempt: 1,
        target: 'aws',
        workerId: 'aws-fn-1',
        outcome: 'completed',
      });
      expect(task.attempts[0]?.durationMs).toBeTypeOf('number');
      expect(task.result).toBeTypeOf('string');
      expect(task.leaseExpiresAt).toBeUndefined();
    }
    // The 5 ms the chaos step waits is part of each try's measured duration.
    for (const task of tasksB) expect(task.attempts[0]?.durationMs).toBeGreaterThanOrEqual(4);
    const outputsA = await Promise.all(
      tasksA.map(async (t) => decode(await readOne(rig.results, 'job-a', t.result as string))),
    );
    const outputsB = await Promise.all(
      tasksB.map(async (t) => decode(await readOne(rig.results, 'job-b', t.result as string))),
    );
    expect(outputsA).toEqual(['ALPHA\n', 'BETA\n', 'GAMMA\n']);
    expect(outputsB).toEqual(['ONE\n', 'TWO\n']);
    expect(tasksA.map((t) => t.bytesOut)).toEqual([6, 5, 6]);
    expect(await rig.queues.aws.depth()).toBe(0);
    expect(await rig.queues.gcp.depth()).toBe(0);
    expect(await rig.deadLetters.aws.depth()).toBe(0);
  });

  it('records a chunk that no try claimed before as created by its first claim, with its ingest size and hash', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['héllo\n']);
    const before = await rig.tasks.listTasks('job-a');

    // Act
    await rig.processors.gcp.process([deliver(message as ChunkMessage)]);

    // Assess
    expect(before).toEqual([]);
    const task = await rig.tasks.getTask('job-a', 0);
    expect(task).toMatchObject({ bytes: 7, sha256: message?.sha256, state: 'completed' });
    expect(task?.attempts[0]?.target).toBe('gcp');
  });
});

describe('ChunkProcessor.process: duplicates', () => {
  it('answers a second delivery of a completed try with duplicate and changes nothing', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);
    await rig.processors.aws.process([deliver(message as ChunkMessage)]);
    const before = await rig.tasks.listTasks('job-a');

    // Act
    const again = await rig.processors.aws.process([deliver(message as ChunkMessage, false, 'second')]);
    const putsAfterCopy = rig.results.puts.length;
    const redelivered = await rig.processors.gcp.process([deliver(message as ChunkMessage, true, 'third')]);

    // Assess
    expect(again.get('second')).toBe('duplicate');
    expect(redelivered.get('third')).toBe('duplicate');
    expect(await rig.tasks.listTasks('job-a')).toEqual(before);
    // A copy of a first delivery ran unclaimed, and its output was dropped; the redelivery claimed first.
    expect(putsAfterCopy).toBe(2);
    expect(rig.results.puts).toHaveLength(2);
    expect(await drain(rig.queues.aws)).toEqual([]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
    expect(await drain(rig.deadLetters.aws)).toEqual([]);
    expect(await drain(rig.deadLetters.gcp)).toEqual([]);
  });

  it('lets only one of two deliveries of the same try in one batch run it', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);

    // Act
    const results = await rig.processors.aws.process([
      deliver(message as ChunkMessage, false, 'first'),
      deliver(message as ChunkMessage, false, 'copy'),
    ]);

    // Assess
    expect([...results.values()].toSorted()).toEqual(['completed', 'duplicate']);
    expect(rig.results.puts).toEqual([{ jobId: 'job-a', count: 1 }]);
    const task = await rig.tasks.getTask('job-a', 0);
    expect(task?.attempts).toHaveLength(1);
  });
});

describe('ChunkProcessor.process: one write per try', () => {
  /** Counts the task store's writes of tries while passing them on. */
  const countWrites = (rig: CloudRig): Record<'claim' | 'finish' | 'claimAndFinish', number> => {
    const counts = { claim: 0, finish: 0, claimAndFinish: 0 };
    for (const name of Object.keys(counts) as (keyof typeof counts)[]) {
      const write = rig.tasks[name].bind(rig.tasks) as (request: never) => Promise<unknown>;
      rig.tasks[name] = ((request: never) => {
        counts[name]++;
        return write(request);
      }) as never;
    }
    return counts;
  };

  it('records each first delivery in one write at its end, and claims a redelivery before running it', async () => {
    // Prepare
    const rig = cloudRig();
    const staged = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['a\n', 'b\n', 'c\n']);
    const counts = countWrites(rig);

    // Act
    const first = await rig.processors.aws.process(staged.slice(0, 2).map((m) => deliver(m)));
    const firstCounts = { ...counts };
    const redelivered = await rig.processors.aws.process([deliver(staged[2] as ChunkMessage, true)]);

    // Assess
    expect([...first.values(), ...redelivered.values()]).toEqual(['completed', 'completed', 'completed']);
    expect(firstCounts).toEqual({ claim: 0, finish: 0, claimAndFinish: 2 });
    expect(counts).toEqual({ claim: 1, finish: 1, claimAndFinish: 2 });
    const tasks = await rig.tasks.listTasks('job-a');
    expect(tasks.map((t) => [t.state, t.attempts.length, t.attempts[0]?.workerId])).toEqual(
      Array(3).fill(['completed', 1, 'aws-fn-1']),
    );
  });

  it('records one of two first deliveries of the same try run at once by two functions', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase,chaos:delay=5'), ['a\n']);

    // Act
    const results = await Promise.all([
      rig.processors.aws.process([deliver(message as ChunkMessage, false, 'one')]),
      rig.processors.aws.process([deliver(message as ChunkMessage, false, 'other')]),
    ]);

    // Assess
    expect(results.map((r) => [...r.values()][0]).toSorted()).toEqual(['completed', 'duplicate']);
    const task = await rig.tasks.getTask('job-a', 0);
    expect(task?.attempts).toHaveLength(1);
    expect(decode(await readOne(rig.results, 'job-a', task?.result as string))).toBe('A\n');
    expect(await drain(rig.queues.aws)).toEqual([]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
  });
});

describe('ChunkProcessor.process: retryable failures', () => {
  it('ends the try as retrying and sends try 2 to the other target when redistribute is on', async () => {
    // Prepare
    const rig = cloudRig({ redistribute: true });
    const [message] = await stageJob(rig, 'job-a', jobRequest('chaos:fail=1:seed=1'), ['alpha\n']);
    const sentBefore = Date.now();

    // Act
    const results = await rig.processors.aws.process([deliver(message as ChunkMessage)]);

    // Assess
    expect(results.get(`job-a#0@1`)).toBe('retrying');
    const task = await rig.tasks.getTask('job-a', 0);
    expect(task?.state).toBe(TaskState.retrying);
    expect(task?.attempts).toHaveLength(1);
    expect(task?.attempts[0]).toMatchObject({ outcome: 'retrying', target: 'aws' });
    expect(task?.attempts[0]?.error).toMatchObject({ name: 'TransientError', retryable: true });
    expect(task?.error).toBeUndefined();
    expect(await drain(rig.queues.aws)).toEqual([]);
    const [retry, ...more] = await drain(rig.queues.gcp);
    expect(more).toEqual([]);
    expect(retry).toEqual({ ...message, attempt: 2, previousTarget: 'aws', routedAt: retry?.routedAt });
    expect(retry?.routedAt).toBeGreaterThanOrEqual(sentBefore);
    expect(await rig.deadLetters.aws.depth()).toBe(0);
    expect(rig.results.puts).toEqual([]);
  });

  it('sends the retry back to the target that failed when redistribute is off (least loaded: the first on a tie)', async () => {
    // Prepare
    const rig = cloudRig({ redistribute: false });
    const [message] = await stageJob(rig, 'job-a', jobRequest('chaos:fail=1:seed=1'), ['alpha\n']);

    // Act
    const results = await rig.processors.aws.process([deliver(message as ChunkMessage)]);

    // Assess
    expect(results.get('job-a#0@1')).toBe('retrying');
    expect(await drain(rig.queues.gcp)).toEqual([]);
    const retries = await drain(rig.queues.aws);
    expect(retries.map((m) => [m.index, m.attempt, m.previousTarget])).toEqual([[0, 2, 'aws']]);
  });

  it('keeps the retry on the failing target when it is the only one of the job', async () => {
    // Prepare
    const rig = cloudRig({ redistribute: true });
    const request = jobRequest('chaos:fail=1:seed=1', { targets: ['aws'] });
    const [message] = await stageJob(rig, 'job-a', request, ['alpha\n']);

    // Act
    await rig.processors.aws.process([deliver(message as ChunkMessage)]);

    // Assess
    expect(await drain(rig.queues.gcp)).toEqual([]);
    expect((await drain(rig.queues.aws)).map((m) => m.attempt)).toEqual([2]);
  });

  it('fails the chunk for good when its last try fails, and copies that try to the dead-letter queue', async () => {
    // Prepare
    const rig = cloudRig();
    const request = jobRequest('chaos:fail=1:seed=1', { maxAttempts: 2 });
    const [message] = await stageJob(rig, 'job-a', request, ['alpha\n']);
    await rig.processors.aws.process([deliver(message as ChunkMessage)]);
    const [retry] = await drain(rig.queues.gcp);

    // Act
    const results = await rig.processors.gcp.process([deliver(retry as ChunkMessage)]);

    // Assess
    expect(results.get('job-a#0@2')).toBe('failed');
    const task = await rig.tasks.getTask('job-a', 0);
    expect(task?.state).toBe(TaskState.failed);
    expect(task?.error).toMatchObject({ name: 'TransientError', retryable: true });
    expect(task?.attempts.map((a) => [a.attempt, a.target, a.outcome])).toEqual([
      [1, 'aws', 'retrying'],
      [2, 'gcp', 'failed'],
    ]);
    expect(await drain(rig.deadLetters.gcp)).toEqual([retry]);
    expect(await drain(rig.deadLetters.aws)).toEqual([]);
    expect(await drain(rig.queues.aws)).toEqual([]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
  });

  it('fails a job of one try on its first retryable failure', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('chaos:fail=1', { maxAttempts: 1 }), [
      'alpha\n',
    ]);

    // Act
    const results = await rig.processors.aws.process([deliver(message as ChunkMessage)]);

    // Assess
    expect(results.get('job-a#0@1')).toBe('failed');
    expect(await drain(rig.deadLetters.aws)).toEqual([message]);
    expect((await rig.queues.aws.depth()) + (await rig.queues.gcp.depth())).toBe(0);
  });
});

describe('ChunkProcessor.process: a follow-up that cannot be sent', () => {
  it('leaves the delivery to come back when no target accepts the retry, and resends it on the redelivery', async () => {
    // Prepare: every shared breaker open, so the router has nowhere to send try 2.
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('chaos:fail=1'), ['alpha\n']);
    const openedAt = Date.now();
    const failures = Array.from({ length: 10 }, () => ({ outcome: 'failure' as const, sentAt: openedAt }));
    for (const target of ['aws', 'gcp']) await rig.router.record(target, failures);

    // Act
    const first = await rig.processors.aws.process([deliver(message as ChunkMessage, false, 'first')]);
    const again = await rig.processors.aws.process([deliver(message as ChunkMessage, true, 'again')]);

    // Assess
    expect(rig.balancer.loads().map((l) => l.breaker)).toEqual(['open', 'open']);
    expect(first.get('first')).toBe('retry');
    // The try is ended before its follow-up is sent; the redelivery tries the follow-up again, and fails again.
    expect((await rig.tasks.getTask('job-a', 0))?.state).toBe(TaskState.retrying);
    expect(again.get('again')).toBe('retry');
    expect((await rig.queues.aws.depth()) + (await rig.queues.gcp.depth())).toBe(0);
    expect(await rig.deadLetters.aws.depth()).toBe(0);
  });
});

describe('ChunkProcessor.process: permanent failures', () => {
  it('fails a poisoned chunk with its reason, copies it to the dead-letter queue and never retries it', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('chaos:poison=1', { maxAttempts: 5 }), [
      'alpha\n',
    ]);

    // Act
    const results = await rig.processors.aws.process([deliver(message as ChunkMessage)]);

    // Assess
    expect(results.get('job-a#0@1')).toBe('failed');
    const task = await rig.tasks.getTask('job-a', 0);
    expect(task?.state).toBe(TaskState.failed);
    expect(task?.error).toMatchObject({ name: 'PoisonChunkError', retryable: false });
    expect(task?.error?.message).toMatch(/chunk 0 is poisoned/);
    expect(task?.attempts).toHaveLength(1);
    expect(await drain(rig.deadLetters.aws)).toEqual([message]);
    expect(await drain(rig.deadLetters.gcp)).toEqual([]);
    expect(await drain(rig.queues.aws)).toEqual([]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
    expect(rig.results.puts).toEqual([]);
  });
});

describe('ChunkProcessor.process: deliveries it cannot run', () => {
  it('refuses a delivery of a job the store does not know: dead-lettered, nothing else written', async () => {
    // Prepare
    const rig = cloudRig();
    const [known] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);
    const stray: ChunkMessage = { ...(known as ChunkMessage), jobId: 'job-gone', input: '0' };

    // Act
    const results = await rig.processors.aws.process([deliver(stray), deliver(known as ChunkMessage)]);

    // Assess
    expect(results.get('job-gone#0@1')).toBe('refused');
    expect(results.get('job-a#0@1')).toBe('completed');
    expect(await rig.tasks.getTask('job-gone', 0)).toBeUndefined();
    expect(await rig.tasks.listTasks('job-gone')).toEqual([]);
    expect(rig.results.puts).toEqual([{ jobId: 'job-a', count: 1 }]);
    expect(await drain(rig.queues.aws)).toEqual([]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
    expect(await drain(rig.deadLetters.aws)).toEqual([stray]);
  });

  it('leaves a delivery whose input cannot be read to come back, while its neighbours complete', async () => {
    // Prepare
    const rig = cloudRig();
    const staged = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), [
      'alpha\n',
      'beta\n',
      'gamma\n',
    ]);
    const batch = staged.map((m) => deliver(m.index === 1 ? { ...m, input: '999' } : m));
    await recordInputs(rig, batch);

    // Act
    const results = await rig.processors.aws.process(batch);

    // Assess
    expect(results.get('job-a#0@1')).toBe('completed');
    expect(results.get('job-a#1@1')).toBe('retry');
    expect(results.get('job-a#2@1')).toBe('completed');
    expect(rig.results.puts).toEqual([{ jobId: 'job-a', count: 2 }]);
    const tasks = await rig.tasks.listTasks('job-a');
    expect(tasks.map((t) => [t.index, t.state])).toEqual([
      [0, 'completed'],
      [2, 'completed'],
    ]);
    const third = tasks[1];
    expect(decode(await readOne(rig.results, 'job-a', third?.result as string))).toBe('GAMMA\n');
    expect(await drain(rig.deadLetters.aws)).toEqual([]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
  });

  it('leaves a delivery whose input cannot be read to come back when it is the first of the batch', async () => {
    // Prepare
    const rig = cloudRig();
    const staged = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n', 'beta\n']);
    const batch = staged.map((m) => deliver(m.index === 0 ? { ...m, input: 'not-a-ref' } : m));
    await recordInputs(rig, batch);

    // Act
    const results = await rig.processors.aws.process(batch);

    // Assess
    expect([...results.entries()].toSorted()).toEqual([
      ['job-a#0@1', 'retry'],
      ['job-a#1@1', 'completed'],
    ]);
  });
});

describe('ChunkProcessor.process: a redelivered try that already ended', () => {
  it('sends the retry again when the try ended as retrying and the queue hands it out again', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);
    await endFirstTry(rig, message as ChunkMessage, TaskState.retrying);
    const before = await rig.tasks.getTask('job-a', 0);

    // Act
    const results = await rig.processors.aws.process([deliver(message as ChunkMessage, true)]);

    // Assess
    expect(results.get('job-a#0@1')).toBe('duplicate');
    expect(await rig.tasks.getTask('job-a', 0)).toEqual(before);
    const sent = await drain(rig.queues.gcp);
    expect(sent.map((m) => [m.index, m.attempt, m.previousTarget])).toEqual([[0, 2, 'aws']]);
    expect(await drain(rig.queues.aws)).toEqual([]);
  });

  it('sends nothing for the same try when the delivery is not a redelivery', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);
    await endFirstTry(rig, message as ChunkMessage, TaskState.retrying);

    // Act
    const results = await rig.processors.aws.process([deliver(message as ChunkMessage, false)]);

    // Assess
    expect(results.get('job-a#0@1')).toBe('duplicate');
    expect(await drain(rig.queues.gcp)).toEqual([]);
    expect(await drain(rig.queues.aws)).toEqual([]);
  });

  it('resends nothing once the next try has been claimed', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);
    await endFirstTry(rig, message as ChunkMessage, TaskState.retrying);
    await rig.processors.aws.process([deliver(message as ChunkMessage, true, 'lost-ack')]);
    const [retry] = await drain(rig.queues.gcp);
    await rig.processors.gcp.process([deliver(retry as ChunkMessage)]);

    // Act
    const results = await rig.processors.aws.process([deliver(message as ChunkMessage, true, 'late')]);

    // Assess
    expect(results.get('late')).toBe('duplicate');
    expect((await rig.tasks.getTask('job-a', 0))?.state).toBe(TaskState.completed);
    expect(await drain(rig.queues.gcp)).toEqual([]);
    expect(await drain(rig.queues.aws)).toEqual([]);
  });

  it('lets only one of two copies of a resent retry run', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);
    await endFirstTry(rig, message as ChunkMessage, TaskState.retrying);
    await rig.processors.aws.process([deliver(message as ChunkMessage, true, 'first')]);
    await rig.processors.aws.process([deliver(message as ChunkMessage, true, 'second')]);
    const copies = await drain(rig.queues.gcp);

    // Act
    const results = await rig.processors.gcp.process(copies.map((m, i) => deliver(m, false, `copy-${i}`)));

    // Assess
    expect(copies).toHaveLength(2);
    expect([...results.values()].toSorted()).toEqual(['completed', 'duplicate']);
    const task = await rig.tasks.getTask('job-a', 0);
    expect(task?.attempts.map((a) => a.outcome)).toEqual(['retrying', 'completed']);
    expect(rig.results.puts).toEqual([{ jobId: 'job-a', count: 1 }]);
  });

  it('copies a redelivered try that already failed to the dead-letter queue again, and only when redelivered', async () => {
    // Prepare
    const rig = cloudRig();
    const [message] = await stageJob(rig, 'job-a', jobRequest('transform:uppercase'), ['alpha\n']);
    await endFirstTry(rig, message as ChunkMessage, TaskState.failed);

    // Act
    const fresh = await rig.processors.aws.process([deliver(message as ChunkMessage, false, 'fresh')]);
    const afterFresh = await drain(rig.deadLetters.aws);
    const again = await rig.processors.aws.process([deliver(message as ChunkMessage, true, 'again')]);

    // Assess
    expect(fresh.get('fresh')).toBe('duplicate');
    expect(again.get('again')).toBe('duplicate');
    expect(afterFresh).toEqual([]);
    expect(await drain(rig.deadLetters.aws)).toEqual([message]);
    expect((await rig.queues.aws.depth()) + (await rig.queues.gcp.depth())).toBe(0);
  });
});

describe("ChunkProcessor.process: the target's shared breaker", () => {
  it('counts retryable failures against its target, and neither completions nor poisoned chunks', async () => {
    // Prepare
    const rig = cloudRig();
    const lines = Array.from({ length: 12 }, (_, i) => `line-${i}\n`);
    const completing = await stageJob(rig, 'job-a', jobRequest('chaos:target=gcp'), lines);
    const poisoned = await stageJob(rig, 'job-b', jobRequest('chaos:poison=1'), lines);
    const failing = await stageJob(rig, 'job-c', jobRequest('chaos:target=gcp'), lines);

    // Act
    await rig.processors.aws.process(completing.map((m) => deliver(m)));
    const afterCompletions = (await rig.health.read()).get('aws');
    await rig.processors.gcp.process(poisoned.map((m) => deliver(m)));
    const afterPoison = (await rig.health.read()).get('gcp');
    await rig.processors.gcp.process(failing.map((m) => deliver(m)));

    // Assess
    expect(afterCompletions).toBeUndefined();
    expect(afterPoison).toBeUndefined();
    expect((await rig.health.read()).get('gcp')).toMatchObject({ state: 'open', opened: 1 });
    expect(rig.balancer.breaker('gcp').state).toBe('open');
  });
});

describe('ChunkProcessor.process: a function running out of time', () => {
  it('leaves the chunks after the time left falls under the margin to come back, recording nothing for them', async () => {
    // Prepare: quick chunks, so the next one is taken while more than the 1 s margin is left
    const rig = cloudRig();
    const messages = await stageJob(rig, 'job-late', jobRequest('transform:uppercase:timeout=1000'), [
      'one\n',
      'two\n',
      'three\n',
      'four\n',
    ]);
    const left = [1500, 999];
    const timeLeft = () => left.shift() ?? 0;

    // Act
    const results = await rig.processors.aws.process(
      messages.map((message) => deliver(message)),
      timeLeft,
    );

    // Assess
    expect([...results.values()]).toEqual(['completed', 'completed', 'retry', 'retry']);
    const tasks = await rig.tasks.listTasks('job-late');
    expect(tasks.map((task) => [task.index, task.state, task.attempts.length])).toEqual([
      [0, 'completed', 1],
      [1, 'completed', 1],
    ]);
    expect(rig.results.puts).toEqual([{ jobId: 'job-late', count: 2 }]);
    expect(await drain(rig.queues.aws)).toEqual([]);
    expect(await drain(rig.queues.gcp)).toEqual([]);
  });
});
/** Records the batch's chunks as its messages name them, refs that cannot be read included. */
const recordInputs = (rig: CloudRig, batch: readonly ChunkDelivery[]): Promise<void> =>
  rig.tasks.putSegment({
    jobId: 'job-a',
    segment: 0,
    firstIndex: 0,
    sentAt: Date.now(),
    chunks: batch.map(({ message: { sha256, bytes, input } }) => ({ sha256, bytes, input })),
  });

describe('ChunkProcessor.process: a job cancelled in mid-batch', () => {
  it('runs no chunk of the batch after it reads the cancel, and cancels the chunks it did not run', async () => {
    // Prepare: chunks of 1.1 s each, so the batch reads the job again before its second chunk.
    const rig = cloudRig();
    const messages = await stageJob(rig, 'job-c', jobRequest('chaos:delay=1100'), ['a\n', 'b\n', 'c\n']);
    const batch = messages.map((message) => deliver(message as ChunkMessage));
    setTimeout(() => void rig.tasks.cancelJob('job-c', Date.now()), 300);

    // Act
    const results = await rig.processors.aws.process(batch);

    // Assess
    expect([...results.values()]).toEqual(['completed', 'cancelled', 'cancelled']);
    const tasks = await rig.tasks.listTasks('job-c');
    expect(tasks.map((task) => [task.state, task.attempts.length])).toEqual([
      [TaskState.completed, 1],
      [TaskState.cancelled, 0],
      [TaskState.cancelled, 0],
    ]);
  });
});
