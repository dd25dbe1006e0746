import { createHash, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { IngestSteps } from '../../src/cloud/ingest-steps.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { Router } from '../../src/cloud/router.ts';
import { MiB } from '../../src/core/constants.ts';
import { defineResources, type Resources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { waitFor } from '../support/e2e.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

/**
 * The long-ingest line of issue 20: 1 GiB of lines named by `s3://`, cut into chunks of 1 MiB (the largest
 * chunk size) packed 8 to a segment. Its steps are stopped twice, whatever the machine's speed: the first
 * step has a short time budget, so it hands over at a segment boundary; a later one is killed between a
 * segment written and its send, late in its time, and its message comes back from the queue. No processor
 * runs: the test takes every chunk's message off the target's queue as it comes, and counts them.
 *
 * Each step reads its input in one GET from its checkpoint to the end. moto answers a GET of a range in
 * time proportional to the whole object (3 to 6 s for this one), so the steps are given 60 s: few of them.
 */
const CHUNK = MiB;
const CHUNKS = 1024;
const CHUNKS_PER_PART = 8;
const LINE = 64;

/**
 * A step's time, and the visibility timeout of the steps' queue a little above it (six times it when
 * deployed): a step's message comes back soon after the step dies, never while it still runs.
 */
const STEP_SECONDS = 60;
const VISIBILITY_SECONDS = STEP_SECONDS + 3;
/** The first step's time budget: its GET and a few segments. */
const FIRST_STEP_MS = 10_000;
/**
 * The fault strikes the first send of a segment once a step has less than this left, late in the step
 * so that its message comes back a few seconds after it dies, or at the send of `FAULT_SEND_AT` at the
 * latest, on a machine fast enough to read almost everything in one step.
 */
const FAULT_WITHIN_MS = 8_000;
const FAULT_SEND_AT = 120;
const defined = defineResources({
  prefix: `gib-${randomUUID().slice(0, 8)}`,
  ingestStepTimeoutSeconds: STEP_SECONDS,
});
const resources: Resources = {
  ...defined,
  ingestSteps: { ...defined.ingestSteps, visibilityTimeoutSeconds: VISIBILITY_SECONDS },
};

const TAIL = `${'abcdefghijklmnopqrstuvwxyz'.repeat(2)}\n`;
/** Every chunk's lines without their heads: each line is `cccc:lllll ` then `TAIL`, 64 bytes. */
const template = Buffer.from(`${' '.repeat(LINE - TAIL.length)}${TAIL}`.repeat(CHUNK / LINE));

/** Chunk i of the input: 1 MiB of 64-byte lines, each headed by the chunk's number and its own. */
const block = (index: number): Buffer => {
  const data = Buffer.from(template);
  for (let line = 0; line < CHUNK / LINE; line++)
    data.write(`${String(index).padStart(4, '0')}:${String(line).padStart(5, '0')}`, line * LINE);
  return data;
};

/** The input, one chunk at a time, and each chunk's digest into `digests` as it goes. */
async function* input(digests: string[]): AsyncGenerator<Buffer> {
  for (let index = 0; index < CHUNKS; index++) {
    const data = block(index);
    digests[index] = createHash('sha256').update(data).digest('hex');
    yield data;
  }
}

let moto: Moto;
let mode: EmulatorMode;
let s3: S3Client;
let sqs: SQSClient;
let dynamo: DynamoDBClient;

/**
 * A multipart upload of the input, 8 MiB a part, 4 parts at once: never more than a few parts in memory.
 * CRC32 per part: without an algorithm, moto computes a checksum of the whole object when it completes
 * the upload, over one more copy of all of it.
 */
const upload = async (
  bucket: string,
  key: string,
  data: AsyncIterable<Buffer>,
): Promise<{ partsMs: number; completeMs: number }> => {
  const started = performance.now();
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'CRC32' }),
  );
  const parts: { ETag: string; PartNumber: number }[] = [];
  const sending = new Set<Promise<void>>();
  const sendPart = async (PartNumber: number, Body: Buffer) => {
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body }),
    );
    parts.push({ ETag: ETag as string, PartNumber });
  };
  let pending: Buffer[] = [];
  for await (const piece of data) {
    pending.push(piece);
    if (pending.length < CHUNKS_PER_PART) continue;
    const sent = sendPart(parts.length + sending.size + 1, Buffer.concat(pending));
    const tracked = sent.finally(() => sending.delete(tracked));
    sending.add(tracked);
    pending = [];
    if (sending.size >= 4) await Promise.race(sending);
  }
  await Promise.all(sending);
  const ordered = parts.toSorted((a, b) => a.PartNumber - b.PartNumber);
  const partsDone = performance.now();
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: ordered },
    }),
  );
  return { partsMs: partsDone - started, completeMs: performance.now() - partsDone };
};

/**
 * Takes messages off the queue as they come, counting each chunk index, so the queue stays shallow;
 * `stop()` ends it once a receive finds the queue empty.
 */
const collect = (queueUrl: string) => {
  const counts = new Map<number, number>();
  const messages: ChunkMessage[] = [];
  let stopping = false;
  const done = (async () => {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (Messages.length === 0 && stopping) return;
      if (Messages.length === 0) continue;
      for (const { Body } of Messages) {
        const message = JSON.parse(Body as string) as ChunkMessage;
        messages.push(message);
        counts.set(message.index, (counts.get(message.index) ?? 0) + 1);
      }
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
  })();
  return {
    counts,
    messages,
    stop: async () => {
      stopping = true;
      await done;
    },
  };
};

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, {
    ...awsEmulatorEnvironment(moto.endpoint),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  mode = await startEmulatorMode({ resources, port: 0, processors: false });
  s3 = new S3Client(awsClientConfig(moto.endpoint));
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
  dynamo = new DynamoDBClient(awsClientConfig(moto.endpoint));
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await mode?.stop();
  for (const client of [s3, sqs, dynamo]) client?.destroy();
  await moto?.stop();
});

describe('a 1 GiB s3:// input in emulator mode', () => {
  it('is ingested by steps stopped on their time and by a fault, each chunk enqueued exactly once', {
    timeout: 300_000,
  }, async () => {
    // Prepare
    const bucket = mode.provisioned.bucket;
    const key = `${resources.bucket.uploadsPrefix}big.txt`;
    const digests: string[] = [];
    const uploaded = await upload(bucket, key, input(digests));
    const outcomes: string[] = [];
    let remainingMs = () => Number.POSITIVE_INFINITY;
    const run = IngestSteps.prototype.run;
    vi.spyOn(IngestSteps.prototype, 'run').mockImplementation(async function (this: IngestSteps, ...args) {
      const [jobId, functionRemainingMs] = args;
      const budgetEnd = Date.now() + FIRST_STEP_MS;
      remainingMs =
        outcomes.length === 0
          ? () => Math.min(functionRemainingMs(), budgetEnd - Date.now())
          : functionRemainingMs;
      try {
        const outcome = await run.call(this, jobId, remainingMs);
        outcomes.push(outcome);
        return outcome;
      } catch (error) {
        outcomes.push('stopped by a fault');
        throw error;
      }
    });
    const send = Router.prototype.send;
    let sends = 0;
    let faults = 0;
    vi.spyOn(Router.prototype, 'send').mockImplementation(function (this: Router, ...args) {
      const late = outcomes.length > 0 && (remainingMs() < FAULT_WITHIN_MS || sends >= FAULT_SEND_AT);
      sends++;
      if (faults === 0 && late && ++faults)
        return Promise.reject(new Error('injected: the step died after its segment put'));
      return send.apply(this, args);
    });
    const queue = collect(mode.provisioned.queueUrls.aws?.medium as string);
    const started = performance.now();

    // Act
    const response = await fetch(
      `${mode.url}/jobs?chunking=lines&chunkSize=${CHUNK}&pipeline=compress:gzip`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source: `s3://${bucket}/${key}` }),
      },
    );
    const { jobId, status } = (await response.json()) as { jobId: string; status: string };
    const view = await waitFor(async () => {
      const job = (await (await fetch(`${mode.url}/jobs/${jobId}`)).json()) as { chunksTotal: number | null };
      return typeof job.chunksTotal === 'number' ? job : undefined;
    }, 240_000);
    const ingestedMs = performance.now() - started;
    await queue.stop();
    const tasks = new DynamoTaskStore(DynamoDBDocumentClient.from(dynamo), resources.table.name);
    const segments = await tasks.listSegments(jobId);
    const stored = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `inputs/${jobId}/` }));
    const source = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    console.info(
      `1 GiB ingest: parts uploaded in ${(uploaded.partsMs / 1000).toFixed(1)} s, completed in ${(uploaded.completeMs / 1000).toFixed(1)} s; ${CHUNKS} chunks enqueued in ${(ingestedMs / 1000).toFixed(1)} s; steps: ${outcomes.join(', ')}`,
    );

    // Assess
    expect(response.status).toBe(202);
    expect(status).toBe('ingesting');
    expect(view.chunksTotal).toBe(CHUNKS);
    const stops = outcomes.filter((o) => o === 'handed-over' || o === 'stopped by a fault');
    expect(stops.length).toBeGreaterThanOrEqual(2);
    expect(outcomes[0]).toBe('handed-over');
    expect(outcomes.filter((o) => o === 'stopped by a fault')).toHaveLength(1);
    expect(outcomes.at(-1)).toBe('ended');
    expect(outcomes.filter((o) => o === 'fenced' || o === 'failed')).toEqual([]);
    expect(queue.messages).toHaveLength(CHUNKS);
    expect([...queue.counts.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: CHUNKS }, (_, i) => i),
    );
    expect([...queue.counts.values()].every((count) => count === 1)).toBe(true);
    const mismatched = queue.messages.filter((m) => m.bytes !== CHUNK || m.sha256 !== digests[m.index]);
    expect(mismatched.map((m) => m.index)).toEqual([]);
    expect(segments.map((s) => [s.firstIndex, s.chunks.length])).toEqual(
      Array.from({ length: CHUNKS / 8 }, (_, i) => [i * 8, 8]),
    );
    expect(segments.flatMap((s) => s.chunks.map((c) => c.sha256))).toEqual(digests);
    // A source the client named is its own: ingest leaves it, and stored no body of its own.
    expect(source.ContentLength).toBe(CHUNKS * CHUNK);
    expect((stored.Contents ?? []).map((o) => o.Key?.split('/').at(-1))).toEqual(
      Array.from({ length: CHUNKS / 8 }, (_, i) => `segment-${String(i).padStart(8, '0')}`),
    );
  });
});
