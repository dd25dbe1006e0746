import { createHash, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { IngestSteps } from '../../src/cloud/ingest-steps.ts';
import { Router } from '../../src/cloud/router.ts';
import { MiB } from '../../src/core/constants.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { drainSqs, waitFor } from '../support/e2e.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

/**
 * The long-ingest line of issue 20: 1 GiB named by `s3://`, cut into chunks of 1 MiB (the largest chunk
 * size) packed 8 to a segment, ingested by steps of a 5-second function that each stop at a segment
 * boundary, and one step killed between a segment written and its send. No processor runs: the test
 * reads the target's queue itself and counts every chunk.
 *
 * Run only with FANOUT_E2E_1GIB=1: it does not pass on moto yet. moto answers a ranged GET of an object
 * in time proportional to the whole object (about 1 s per 256 MiB, measured), so each 8 MiB read of the
 * 1 GiB input takes about 4 s and the 5-second steps overrun their timeout.
 */
const CHUNK = MiB;
const CHUNKS = 1024;
const PART = 8 * MiB;
/** The Router.send call that fails, as if the function stopped right after writing that segment. */
const FAULT_AT = 40;

const resources = defineResources({ prefix: `gib-${randomUUID().slice(0, 8)}`, ingestStepTimeoutSeconds: 5 });

/** Chunk i of the input: 1 MiB that names its index, then a byte pattern of its own. */
const block = (index: number): Buffer => {
  const data = Buffer.alloc(CHUNK, index % 251);
  data.write(`chunk ${index}\n`);
  return data;
};
const digest = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let moto: Moto;
let mode: EmulatorMode;
let s3: S3Client;
let sqs: SQSClient;
let dynamo: DynamoDBClient;

/** Streams the input into S3 part by part (8 MiB each), never holding more than a few parts. */
const uploadInput = async (bucket: string, key: string): Promise<void> => {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts: { ETag: string; PartNumber: number }[] = [];
  const perPart = PART / CHUNK;
  for (let first = 0; first < CHUNKS / perPart; first += 4) {
    const numbers = [1, 2, 3, 4].map((n) => first + n).filter((n) => n <= CHUNKS / perPart);
    const uploaded = await Promise.all(
      numbers.map(async (PartNumber) => {
        const body = Buffer.concat(
          Array.from({ length: perPart }, (_, i) => block((PartNumber - 1) * perPart + i)),
        );
        const { ETag } = await s3.send(
          new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body }),
        );
        return { ETag: ETag as string, PartNumber };
      }),
    );
    parts.push(...uploaded);
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
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

describe.runIf(process.env.FANOUT_E2E_1GIB === '1')('a 1 GiB s3:// input in emulator mode', () => {
  it('is ingested by steps stopped on their time and by a fault, each chunk enqueued exactly once', {
    timeout: 300_000,
  }, async () => {
    // Prepare
    const source = `s3://${mode.provisioned.bucket}/${resources.bucket.uploadsPrefix}big.bin`;
    await uploadInput(mode.provisioned.bucket, `${resources.bucket.uploadsPrefix}big.bin`);
    const outcomes: string[] = [];
    const run = IngestSteps.prototype.run;
    vi.spyOn(IngestSteps.prototype, 'run').mockImplementation(async function (this: IngestSteps, ...args) {
      try {
        const outcome = await run.apply(this, args);
        outcomes.push(outcome);
        return outcome;
      } catch (error) {
        outcomes.push('stopped by a fault');
        throw error;
      }
    });
    const send = Router.prototype.send;
    let sends = 0;
    vi.spyOn(Router.prototype, 'send').mockImplementation(function (this: Router, ...args) {
      if (++sends === FAULT_AT)
        return Promise.reject(new Error('injected: the step died after its segment put'));
      return send.apply(this, args);
    });
    const started = performance.now();

    // Act
    const response = await fetch(
      `${mode.url}/jobs?chunking=bytes&chunkSize=${CHUNK}&pipeline=compress:gzip`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source }) },
    );
    const answeredMs = performance.now() - started;
    const { jobId, status } = (await response.json()) as { jobId: string; status: string };
    const view = await waitFor(async () => {
      const job = (await (await fetch(`${mode.url}/jobs/${jobId}`)).json()) as { chunksTotal: number | null };
      return typeof job.chunksTotal === 'number' ? job : undefined;
    }, 240_000);
    const ingestedMs = performance.now() - started;
    const messages = await drainSqs(sqs, mode.provisioned.queueUrls.aws as string);
    const tasks = new DynamoTaskStore(DynamoDBDocumentClient.from(dynamo), resources.table.name);
    const segments = await tasks.listSegments(jobId);
    console.info(
      `1 GiB ingest: 202 in ${answeredMs.toFixed(0)} ms, ${CHUNKS} chunks enqueued in ${(ingestedMs / 1000).toFixed(1)} s; steps: ${outcomes.join(', ')}`,
    );

    // Assess
    expect(response.status).toBe(202);
    expect(status).toBe('ingesting');
    expect(view.chunksTotal).toBe(CHUNKS);
    expect(outcomes.filter((o) => o === 'handed-over').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((o) => o === 'stopped by a fault')).toHaveLength(1);
    expect(outcomes.at(-1)).toBe('ended');
    const counts = new Map<number, number>();
    for (const message of messages) counts.set(message.index, (counts.get(message.index) ?? 0) + 1);
    expect(messages).toHaveLength(CHUNKS);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: CHUNKS }, (_, i) => i));
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    const mismatched = messages.filter((m) => m.bytes !== CHUNK || m.sha256 !== digest(block(m.index)));
    expect(mismatched.map((m) => m.index)).toEqual([]);
    expect(segments).toHaveLength(CHUNKS / 8);
    expect(segments.map((s) => [s.firstIndex, s.chunks.length])).toEqual(
      Array.from({ length: CHUNKS / 8 }, (_, i) => [i * 8, 8]),
    );
  });
});
