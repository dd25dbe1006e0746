import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { S3ResultStore } from '../../src/adapters/aws/s3-result-store.ts';
import { parseSpan, readOne } from '../../src/adapters/result-reading.ts';
import { TaskState } from '../../src/core/constants.ts';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import type { CombinedResult } from '../../src/ports/task-store.ts';
import { waitFor } from '../support/e2e.ts';
import { type EmulatorRig, startEmulatorRig } from '../support/emulator-rig.ts';
import { jobOps } from '../support/job-ops.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';
import { awsClientConfig } from '../support/moto.ts';
import { seededRandom } from '../support/prng.ts';

// Issue 24, "Done when": the same job gives the same result bytes on the embedded engine and in emulator
// mode, with both clouds in the job.

const LINES = 3000;
const CHUNK_SIZE = 8192;
const REGIONS = ['eu-west', 'us-east', 'ap-south', '7', 'nord-ü'];

interface Line {
  /** The line's number in the input, counted from 1, as rejects name it. */
  line: number;
  text: string;
  /** Why `check:email` rejects it, when it does. */
  rejectedBy?: 'email' | 'json';
  region?: string;
  /** A number, a string ("n/a") or nothing: sorted first, after the numbers, last. */
  amount?: number | string;
}

/**
 * NDJSON records with a region and an amount (amounts in tenths, so ties are common and sums round),
 * some with an address `check:email` rejects, some not JSON at all, some with an amount that is no number
 * or none, and blank lines, which count as lines of the input but hold no record.
 */
const makeInput = (): Line[] => {
  const random = seededRandom(24);
  return Array.from({ length: LINES }, (_, i): Line => {
    const line = i + 1;
    if (i % 211 === 210) return { line, text: '' };
    if (i % 101 === 100) return { line, text: `{"id":${i},"email":`, rejectedBy: 'json' };
    const region = REGIONS[Math.floor(random() * REGIONS.length)] as string;
    const amount = i % 59 === 58 ? undefined : i % 53 === 52 ? 'n/a' : Math.round(random() * 4000) / 10 - 50;
    const email = i % 37 === 36 ? `user${i}-at-example.com` : `user${i}@example.com`;
    return {
      line,
      text: JSON.stringify({ id: i, email, region, ...(amount !== undefined && { amount }) }),
      ...(i % 37 === 36 && { rejectedBy: 'email' as const }),
      region,
      ...(amount !== undefined && { amount }),
    };
  });
};

const INPUT_LINES = makeInput();
const INPUT = Buffer.from(`${INPUT_LINES.map((l) => l.text).join('\n')}\n`);
const VALID = INPUT_LINES.filter((l) => l.text !== '' && l.rejectedBy === undefined);

const CHAOS = 'chaos:fail=0.2:seed=24';
const CHECK = 'check:email:field=email';
const STATISTICS_PIPELINE = `${CHAOS},${CHECK},calculate:op=statistics:field=amount:by=region`;
const SORT_PIPELINE = `${CHAOS},${CHECK},calculate:op=sort:field=amount`;
const query = (pipeline: string) =>
  `pipeline=${pipeline}&chunkSize=${CHUNK_SIZE}&maxAttempts=10&strategy=round_robin&targets=aws,gcp`;

const prefix = `rec-${randomUUID().slice(0, 8)}`;
const resources = defineResources({ prefix, processorTimeoutSeconds: 30 });
const gcp = defineGcpResources({ prefix, processorTimeoutSeconds: 30 });

let rig: EmulatorRig;
let engine: TestServer;
let s3: S3Client;
let dynamo: DynamoDBClient;
let documents: DynamoDBDocumentClient;
let table: DynamoTaskStore;
const { settled } = jobOps(() => rig);

interface Run {
  jobId: string;
  result: Buffer;
  rejects: Buffer;
  tasks: TaskRecord[];
}

const bytesAt = async (url: string): Promise<Buffer> => {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
};

const readRun = async (base: string, jobId: string): Promise<Run> => ({
  jobId,
  result: await bytesAt(`${base}/jobs/${jobId}/result`),
  rejects: await bytesAt(`${base}/jobs/${jobId}/rejects`),
  tasks: ((await (await fetch(`${base}/jobs/${jobId}/tasks`)).json()) as { tasks: TaskRecord[] }).tasks,
});

/** The job on the embedded engine, behind the HTTP API `fanout serve` gives it: its result, rejects and tasks. */
const onEngine = async (pipeline: string): Promise<Run> => {
  const base = engine.server.url;
  const response = await fetch(`${base}/jobs?${query(pipeline)}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: INPUT,
  });
  expect(response.status).toBe(202);
  const { jobId } = (await response.json()) as { jobId: string };
  await waitFor(async () => {
    const view = (await (await fetch(`${base}/jobs/${jobId}`)).json()) as JobView;
    return view.status === 'completed' ? view : undefined;
  }, 60_000);
  return readRun(base, jobId);
};

/** The job in emulator mode, once the stats function has counted every try: its result, rejects and tasks. */
const onEmulators = async (pipeline: string): Promise<Run> => {
  const jobId = await rig.submit(query(pipeline), INPUT);
  await settled(jobId, (status) => status === 'completed', [TaskState.completed]);
  return readRun(rig.mode.url, jobId);
};

/** The job's item in the task table, as the stats function left it. */
const jobItem = async (jobId: string): Promise<{ combined?: CombinedResult } | undefined> =>
  (
    await documents.send(
      new GetCommand({ TableName: resources.table.name, Key: { pk: `JOB#${jobId}`, sk: 'JOB' } }),
    )
  ).Item;

let engineStatistics: Run;
let engineSort: Run;
let cloudStatistics: Run;
let cloudSort: Run;
let startedAt: number;

beforeAll(async () => {
  startedAt = performance.now();
  // The engine with the emulator rig's retry backoffs.
  engine = await startTestServer('records', [
    { path: ['retry', 'base_delay_ms'], value: 50, flag: '--retry-base-delay-ms' },
    { path: ['retry', 'max_delay_ms'], value: 250, flag: '--retry-max-delay-ms' },
  ]);
  rig = await startEmulatorRig({ resources, gcp, env: { POWERTOOLS_LOG_LEVEL: 'ERROR' } });
  const config = awsClientConfig(rig.moto.endpoint);
  s3 = new S3Client(config);
  dynamo = new DynamoDBClient(config);
  documents = DynamoDBDocumentClient.from(dynamo);
  table = new DynamoTaskStore(documents, resources.table.name);
  [engineStatistics, engineSort, cloudStatistics, cloudSort] = await Promise.all([
    onEngine(STATISTICS_PIPELINE),
    onEngine(SORT_PIPELINE),
    onEmulators(STATISTICS_PIPELINE),
    onEmulators(SORT_PIPELINE),
  ]);
  console.info(
    `records on both runtimes: started them and ran four jobs in ${(performance.now() - startedAt).toFixed(0)} ms`,
  );
}, 150_000);

afterAll(async () => {
  s3?.destroy();
  dynamo?.destroy();
  await engine?.close();
  await rig?.stop();
});

/**
 * Lines as a stable sort by amount orders them: numbers ascending, then the string amounts (all "n/a"),
 * then the lines with none; ties in input order.
 */
const referenceSorted = (lines: readonly Line[]): string[] => {
  const rank = (l: Line) => (typeof l.amount === 'number' ? 0 : typeof l.amount === 'string' ? 1 : 2);
  const amount = (l: Line) => (typeof l.amount === 'number' ? l.amount : 0);
  return [...lines].sort((a, b) => rank(a) - rank(b) || amount(a) - amount(b)).map((l) => l.text);
};

const rejectsOf = (bytes: Buffer) =>
  bytes
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { line: number; rule: string; field: string | null; value: unknown });

describe('record steps on the embedded engine and in emulator mode (moto and the Pub/Sub emulator)', () => {
  it('runs tries on both clouds and retries chunks on the cloud that did not fail them', () => {
    // Prepare
    const tasks = [...cloudStatistics.tasks, ...cloudSort.tasks];
    const tries = tasks.flatMap((task) => task.attempts);

    // Act
    const moved = tasks.filter((task) =>
      task.attempts.some(
        (attempt, i) =>
          attempt.outcome === TaskState.retrying &&
          task.attempts[i + 1] !== undefined &&
          task.attempts[i + 1]?.target !== attempt.target,
      ),
    );

    // Assess
    expect(cloudStatistics.tasks.length).toBeGreaterThanOrEqual(20);
    expect(cloudStatistics.tasks.length).toBeLessThanOrEqual(40);
    for (const target of ['aws', 'gcp']) {
      expect(
        tries.filter((a) => a.target === target && a.outcome === TaskState.completed).length,
      ).toBeGreaterThan(0);
    }
    expect(moved.length).toBeGreaterThan(0);
  });

  it('gives the same statistics bytes on both runtimes, counting every valid record in its region', () => {
    // Prepare
    const expected = Object.fromEntries(
      REGIONS.map((region) => {
        const mine = VALID.filter((l) => l.region === region);
        const numbers = mine.map((l) => l.amount).filter((a): a is number => typeof a === 'number');
        return [
          region,
          {
            count: numbers.length,
            skipped: mine.length - numbers.length,
            min: Math.min(...numbers),
            max: Math.max(...numbers),
          },
        ];
      }),
    );

    // Act
    const result = JSON.parse(cloudStatistics.result.toString()) as {
      op: string;
      skipped: number;
      groups: Record<string, { count: number; skipped: number; min: number; max: number }>;
    };

    // Assess
    expect(cloudStatistics.result.equals(engineStatistics.result)).toBe(true);
    expect(result).toMatchObject({ op: 'statistics', field: 'amount', by: 'region', skipped: 0 });
    expect(
      Object.fromEntries(
        Object.entries(result.groups).map(([region, { count, skipped, min, max }]) => [
          region,
          { count, skipped, min, max },
        ]),
      ),
    ).toEqual(expected);
  });

  it('gives the same sorted bytes on both runtimes: every valid record by amount, ties in input order', () => {
    // Prepare
    const expected = `${referenceSorted(VALID).join('\n')}\n`;

    // Assess
    expect(cloudSort.result.equals(engineSort.result)).toBe(true);
    expect(cloudSort.result.toString()).toBe(expected);
  });

  it('gives the same rejects on both runtimes, each numbered by its line in the input', () => {
    // Prepare
    const expected = INPUT_LINES.filter((l) => l.rejectedBy !== undefined).map((l) => ({
      line: l.line,
      rule: l.rejectedBy,
    }));

    // Act
    const rejects = rejectsOf(cloudStatistics.rejects);
    const withRejects = (target: string) =>
      cloudStatistics.tasks.filter((t) => t.rejects !== undefined && t.attempts.at(-1)?.target === target);

    // Assess
    expect(cloudStatistics.rejects.equals(engineStatistics.rejects)).toBe(true);
    expect(cloudSort.rejects.equals(engineSort.rejects)).toBe(true);
    expect(cloudSort.rejects.equals(cloudStatistics.rejects)).toBe(true);
    expect(rejects.map(({ line, rule }) => ({ line, rule }))).toEqual(expected);
    // Both processors stored their chunks' rejects, and counted them on the task.
    expect(withRejects('aws').length).toBeGreaterThan(0);
    expect(withRejects('gcp').length).toBeGreaterThan(0);
    expect(cloudStatistics.tasks.reduce((sum, t) => sum + (t.rejected ?? 0), 0)).toBe(expected.length);
  });

  it("keeps each chunk's first line in the cloud's segments, as the engine does in its tasks", async () => {
    // Act
    const segments = await table.listSegments(cloudStatistics.jobId);
    const cloudFirstLines = segments.flatMap((segment) =>
      segment.chunks.map((chunk, i) => [segment.firstIndex + i, chunk.firstLine]),
    );
    const engineFirstLines = engineStatistics.tasks.map((task) => [task.index, task.firstLine]);

    // Assess
    expect(cloudFirstLines).toEqual(engineFirstLines);
    expect(cloudFirstLines[0]).toEqual([0, 1]);
    expect(cloudFirstLines.length).toBe(cloudStatistics.tasks.length);
  });

  it('has the stats function write the combined statistics: the job item names it, the bucket holds its bytes', async () => {
    // Prepare
    const results = new S3ResultStore(s3, rig.mode.provisioned.bucket, resources.bucket.resultsPrefix);
    const { jobId } = cloudStatistics;

    // Act
    // The stats function writes it right after it marks the job finished, which the job's view shows.
    const combined = await waitFor(async () => (await jobItem(jobId))?.combined, 30_000);
    const { unit } = parseSpan(jobId, combined.ref);
    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: rig.mode.provisioned.bucket,
        Key: `${resources.bucket.resultsPrefix}${jobId}/${unit}`,
      }),
    );
    const stored = Buffer.from(await readOne(results, jobId, combined.ref));
    // A reader once it is written gives its bytes.
    const readAgain = await bytesAt(`${rig.mode.url}/jobs/${jobId}/result`);
    const sortItem = await jobItem(cloudSort.jobId);

    // Assess
    expect(head.ContentLength).toBe(stored.byteLength);
    expect(stored.equals(engineStatistics.result)).toBe(true);
    expect(readAgain.equals(stored)).toBe(true);
    // A sort is merged from its runs as it is read: nothing is written for it.
    expect(sortItem).toBeDefined();
    expect(sortItem?.combined).toBeUndefined();
  });
});
