import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ResultStore } from '../../src/adapters/aws/s3-result-store.ts';
import { createPubSubClients, type PubSubClients } from '../../src/adapters/gcp/clients.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { TaskState } from '../../src/core/constants.ts';
import type { StatsReport } from '../../src/core/stats/report.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { PUBSUB_PROJECT_ID } from '../../src/local/emulator-state.ts';
import {
  chaosJob,
  drainSqs,
  expectEachChunkEndedOnce,
  mismatchedGzipOutputs,
  waitFor,
} from '../support/e2e.ts';
import { type EmulatorRig, startEmulatorRig } from '../support/emulator-rig.ts';
import { awsClientConfig } from '../support/moto.ts';

const SEED = 11;
const POISON = 0.01;
const CHUNKS = 1000;
const CHUNK_SIZE = 1024;
const { pipeline: PIPELINE, isPoisoned, line, input } = chaosJob(SEED, POISON, CHUNK_SIZE);

const prefix = `xc-${randomUUID().slice(0, 8)}`;
const resources = defineResources({ prefix, processorTimeoutSeconds: 30 });
const gcp = defineGcpResources({ prefix, processorTimeoutSeconds: 30 });

let rig: EmulatorRig;
let s3: S3Client;
let pubsub: PubSubClients;

beforeAll(async () => {
  rig = await startEmulatorRig({
    resources,
    gcp,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
  s3 = new S3Client(awsClientConfig(rig.moto.endpoint));
  pubsub = await createPubSubClients({ projectId: PUBSUB_PROJECT_ID });
}, 60_000);

afterAll(async () => {
  await pubsub?.close();
  s3?.destroy();
  await rig?.stop();
});

interface Job {
  status: string;
  chunksCompleted: number;
  chunksFailed: number;
  stats: StatsReport;
}

/** Waits until the job has ended and the stats function has counted every chunk, then reads its tasks. */
/** Waits until a job's ingest steps have sent every chunk: ingest runs after POST /jobs has answered. */
const ingested = (jobId: string): Promise<true> =>
  waitFor(async () => {
    const view = await rig.getJson<{ chunksTotal: number | null }>(`/jobs/${jobId}`);
    return view.chunksTotal === null ? undefined : true;
  }, 60_000);

const finished = async (jobId: string, chunks: number, timeoutMs: number) => {
  const job = await waitFor(async () => {
    const view = await rig.getJson<Job>(`/jobs/${jobId}`);
    return view.status.startsWith('completed') && view.chunksCompleted + view.chunksFailed === chunks
      ? view
      : undefined;
  }, timeoutMs);
  const { tasks } = await rig.getJson<{ tasks: TaskRecord[] }>(`/jobs/${jobId}/tasks`);
  return { job, tasks };
};

const attemptsOn = (tasks: readonly TaskRecord[], target: string): number =>
  tasks.reduce((sum, task) => sum + task.attempts.filter((a) => a.target === target).length, 0);

const firstTriesOn = (tasks: readonly TaskRecord[], target: string): number =>
  tasks.filter((task) => task.attempts[0]?.target === target).length;

/** Everything in the Google dead-letter subscription now. */
const gcpDeadLetters = async (): Promise<ChunkMessage[]> => {
  const subscription = rig.mode.provisionedGcp?.deadLetterSubscriptions.gcp as string;
  const dead: ChunkMessage[] = [];
  for (;;) {
    const [response] = await pubsub.subscriber.pull({
      subscription,
      maxMessages: 1000,
      returnImmediately: true,
    });
    const received = response.receivedMessages ?? [];
    if (received.length === 0) return dead;
    dead.push(
      ...received.map((r) => JSON.parse(Buffer.from(r.message?.data ?? '').toString()) as ChunkMessage),
    );
    await pubsub.subscriber.acknowledge({ subscription, ackIds: received.map((r) => r.ackId as string) });
  }
};

const byIndex = (a: number, b: number): number => a - b;

describe('across AWS (moto) and Google Cloud (the Pub/Sub emulator)', () => {
  describe(`a ${CHUNKS}-chunk round_robin job with chaos:fail=0.2 and ${POISON * 100}% poison`, () => {
    let jobId: string;
    let job: Job;
    let tasks: TaskRecord[];

    beforeAll(async () => {
      jobId = await rig.submit(
        `pipeline=${PIPELINE}&chunkSize=${CHUNK_SIZE}&maxAttempts=10&strategy=round_robin&targets=aws,gcp`,
        input(CHUNKS),
      );
      ({ job, tasks } = await finished(jobId, CHUNKS, 240_000));
    }, 300_000);

    it('gives each cloud at least 35% of the tries', () => {
      // Prepare
      const attempts = tasks.reduce((sum, task) => sum + task.attempts.length, 0);

      const shares = Object.fromEntries(
        ['aws', 'gcp'].map((t) => [t, { firstTries: firstTriesOn(tasks, t), tries: attemptsOn(tasks, t) }]),
      );
      console.info(`cross-cloud shares of ${attempts} tries: ${JSON.stringify(shares)}`);

      // Assess
      for (const target of ['aws', 'gcp']) {
        expect(firstTriesOn(tasks, target) / CHUNKS).toBeGreaterThanOrEqual(0.35);
        expect(attemptsOn(tasks, target) / attempts).toBeGreaterThanOrEqual(0.35);
      }
    });

    it('ends every chunk exactly once: the poisoned ones failed with their reason, all others completed', () => {
      // Assess
      expectEachChunkEndedOnce(tasks, CHUNKS, isPoisoned);
    });

    it('shows chunks that failed on one cloud and completed on the other, both ways', () => {
      // Prepare
      const movedTo = (from: string, to: string) =>
        tasks.filter(
          (task) =>
            task.attempts.some(
              (attempt, i) =>
                attempt.outcome === TaskState.retrying &&
                attempt.target === from &&
                task.attempts[i + 1]?.target === to,
            ) && task.attempts.at(-1)?.target === to,
        );

      // Assess
      expect(movedTo('aws', 'gcp').length).toBeGreaterThan(10);
      expect(movedTo('gcp', 'aws').length).toBeGreaterThan(10);
    });

    it("stores each completed chunk's output, checked against its own input line", async () => {
      // Prepare
      const results = new S3ResultStore(s3, rig.mode.provisioned.bucket, resources.bucket.resultsPrefix);

      // Act
      const mismatches = await mismatchedGzipOutputs(results, jobId, tasks, (i) => line(i).toUpperCase());

      // Assess
      expect(mismatches).toEqual([]);
    });

    it('puts each poisoned chunk in the dead-letter queue of the cloud that saw it, once', async () => {
      // Prepare
      const sawLast = (target: string) =>
        tasks
          .filter((t) => t.state === TaskState.failed && t.attempts.at(-1)?.target === target)
          .map((t) => t.index);

      // Act
      const [onAws, onGcp] = await Promise.all([
        drainSqs(rig.sqs, rig.mode.provisioned.deadLetterUrls.aws as string),
        gcpDeadLetters(),
      ]);

      // Assess
      expect(onAws.map((m) => m.index).sort(byIndex)).toEqual(sawLast('aws'));
      expect(onGcp.map((m) => m.index).sort(byIndex)).toEqual(sawLast('gcp'));
      expect(onAws.length + onGcp.length).toBe(tasks.filter((t) => t.state === TaskState.failed).length);
    });

    it('reports per-cloud stats that equal the task records, redistributed tries included', () => {
      // Prepare
      const tries = tasks.flatMap((task) => task.attempts);
      const redistributed = tasks.reduce(
        (sum, task) =>
          sum + task.attempts.filter((a, i) => i > 0 && a.target !== task.attempts[i - 1]?.target).length,
        0,
      );

      // Assess
      expect(job.stats.attempts).toBe(tries.length);
      expect(job.stats.redistributed).toBe(redistributed);
      for (const target of ['aws', 'gcp']) {
        const mine = tries.filter((a) => a.target === target);
        const report = job.stats.targets[target];
        expect(report?.attempts).toBe(mine.length);
        expect(report?.completed).toBe(mine.filter((a) => a.outcome === TaskState.completed).length);
        expect(report?.durationMs.count).toBe(mine.length);
      }
      expect(job.stats.durationMs.count).toBe(tries.length);
    });
  });

  describe('a Google Cloud outage in mid-job (the Pub/Sub emulator stopped with SIGSTOP, then resumed)', () => {
    const QUERY = `pipeline=validate,transform:uppercase&chunkSize=${CHUNK_SIZE}&strategy=round_robin&targets=aws,gcp`;

    it('finishes every job once; new chunks leave gcp within seconds of the outage and come back after it', async () => {
      // Prepare
      const before = await rig.submit(QUERY, input(60));
      await ingested(before);

      // Act
      process.kill(rig.pubsubEmulator.pid, 'SIGSTOP');
      const stoppedAt = Date.now();
      let firstDuring: string;
      let secondDuring: string;
      let leftWithin: number;
      try {
        firstDuring = await rig.submit(QUERY, input(40));
        await ingested(firstDuring);
        leftWithin = Date.now() - stoppedAt;
        secondDuring = await rig.submit(QUERY, input(40));
        await finished(secondDuring, 40, 120_000);
      } finally {
        process.kill(rig.pubsubEmulator.pid, 'SIGCONT');
      }
      const resumedAt = Date.now();
      const after = await waitFor(async () => {
        const jobId = await rig.submit(QUERY, input(20));
        const { tasks } = await finished(jobId, 20, 60_000);
        return firstTriesOn(tasks, 'gcp') > 0 ? { tasks, backWithin: Date.now() - resumedAt } : undefined;
      }, 90_000);
      const jobs = await Promise.all(
        [
          [before, 60],
          [firstDuring, 40],
          [secondDuring, 40],
        ].map(([jobId, chunks]) => finished(jobId as string, chunks as number, 120_000)),
      );

      // Assess
      for (const { job, tasks } of jobs) {
        expect(job.chunksFailed).toBe(0);
        expect(tasks.every((t) => t.state === TaskState.completed && t.attempts.length === 1)).toBe(true);
      }
      const [beforeTasks, firstTasks, secondTasks] = jobs.map((j) => j.tasks);
      expect(firstTriesOn(beforeTasks ?? [], 'gcp')).toBeGreaterThan(0);
      expect(attemptsOn(firstTasks ?? [], 'gcp')).toBe(0);
      expect(attemptsOn(secondTasks ?? [], 'gcp')).toBe(0);
      console.info(
        `outage: new chunks left gcp within ${leftWithin} ms, came back within ${after.backWithin} ms`,
      );
      expect(leftWithin).toBeLessThan(15_000);
      expect(after.backWithin).toBeLessThan(60_000);
    }, 300_000);
  });

  describe('the aws target failing every try', () => {
    const QUERY = `pipeline=validate,chaos:target=aws,transform:uppercase&chunkSize=${CHUNK_SIZE}&strategy=round_robin&targets=aws,gcp`;

    it('completes the job on gcp, and takes aws out of rotation for the next job', async () => {
      // Act
      const first = await finished(await rig.submit(QUERY, input(40)), 40, 120_000);
      const next = await finished(await rig.submit(QUERY, input(20)), 20, 120_000);

      // Assess
      for (const { job, tasks } of [first, next]) {
        expect(job.chunksCompleted).toBe(tasks.length);
        for (const task of tasks) {
          expect(task.attempts.at(-1)).toMatchObject({ target: 'gcp', outcome: TaskState.completed });
          expect(task.attempts.slice(0, -1).every((a) => a.target === 'aws')).toBe(true);
        }
      }
      expect(firstTriesOn(first.tasks, 'aws')).toBeGreaterThan(0);
      // An open breaker still lets a probe through now and then, to find out whether aws is back.
      expect(firstTriesOn(next.tasks, 'aws')).toBeLessThanOrEqual(2);
    }, 300_000);
  });
});
