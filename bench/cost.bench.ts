import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { DynamoDBClient, GetItemCommand, paginateScan } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { defineResources } from '../src/deploy/resources.ts';
import type { EmulatorMode } from '../src/local/emulator-mode.ts';
import { awsEmulatorEnvironment } from '../src/local/emulator-state.ts';
import { awsClientConfig, type Emulator, startMoto } from '../src/local/emulators.ts';
import { type Item, itemSize, sizesByKey } from './cost/dynamo-units.ts';
import { ndjsonEvents } from './cost/input.ts';
import { LambdaMeter } from './cost/lambda-meter.ts';
import { buildModel } from './cost/model.ts';
import { type CountingProxy, startCountingProxy } from './cost/proxy.ts';
import { type RunInfo, render, verdicts } from './cost/report.ts';

const ROOT = new URL('../', import.meta.url);
const RESULTS = new URL('./results/', import.meta.url).pathname;
const PIPELINE = 'validate,transform:uppercase,compress:gzip';
const CHUNK_SIZE = 65_536;
const SEED = 20_240_601;
const FUNCTIONS = ['ingest', 'process-aws', 'stats'];

const log = (message: string): void => {
  process.stderr.write(`[bench:cost ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '6' },
    'chunks-per-job': { type: 'string', default: '250' },
    'timeout-minutes': { type: 'string', default: '20' },
    'no-save': { type: 'boolean', default: false },
  },
});

const gitCommit = (): string => {
  try {
    const run = (...a: string[]) => execFileSync('git', a, { cwd: ROOT.pathname, encoding: 'utf8' }).trim();
    const head = run('rev-parse', '--short', 'HEAD');
    return run('status', '--porcelain', '--', 'src', 'functions') === ''
      ? head
      : `${head} (src/ or functions/ modified)`;
  } catch {
    return 'unknown';
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class BrokenRunError extends Error {
  constructor(message: string) {
    super(`the run is broken, no figures reported: ${message}`);
    this.name = 'BrokenRunError';
  }
}

const main = async (): Promise<void> => {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24)
    throw new Error(`node ${process.versions.node} is too old: run npm run bench:cost (node 24)`);
  const jobs = Number(args.jobs);
  const chunksPerJob = Number(args['chunks-per-job']);
  if (![jobs, chunksPerJob].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--jobs and --chunks-per-job must be positive integers');
  }
  const chunks = jobs * chunksPerJob;

  const meter = new LambdaMeter();
  meter.install(new URL('functions/', ROOT), FUNCTIONS);

  let moto: Emulator | undefined;
  let proxy: CountingProxy | undefined;
  let mode: EmulatorMode | undefined;
  const direct: { destroy: () => void }[] = [];
  try {
    moto = await startMoto();
    log(`moto on ${moto.endpoint} (pid ${moto.pid})`);
    proxy = await startCountingProxy(moto.endpoint);
    log(`counting proxy on ${proxy.endpoint}`);
    Object.assign(process.env, {
      ...awsEmulatorEnvironment(proxy.endpoint),
      // The processor names each try's worker after its log stream: give it a name of the real length.
      AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${createHash('sha256').update('bench').digest('hex').slice(0, 32)}`,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const resources = defineResources({ prefix: `bench-${process.pid}` });
    const { startEmulatorMode } = await import('../src/local/emulator-mode.ts');
    mode = await startEmulatorMode({
      resources,
      port: 0,
      onError: (error) => log(`emulator mode: ${String(error)}`),
    });
    const running = mode;

    const s3 = new S3Client(awsClientConfig(moto.endpoint));
    const dynamo = new DynamoDBClient(awsClientConfig(moto.endpoint));
    const sqs = new SQSClient(awsClientConfig(moto.endpoint));
    direct.push(s3, dynamo, sqs);

    // The jobs run in the default lane, medium.
    const queueUrl = running.provisioned.queueUrls[resources.queues[0]?.target ?? 'aws']?.medium as string;
    const dlqUrl = running.provisioned.deadLetterUrls[resources.queues[0]?.target ?? 'aws'] as string;
    const inQueue = async (url: string): Promise<number> => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      return Object.values(Attributes).reduce((sum, v) => sum + Number(v), 0);
    };
    const deadline = Date.now() + Number(args['timeout-minutes']) * 60_000;
    const jobIds: string[] = [];
    let jobSeconds = 0;
    let inputBytes = 0;
    let outputBytes = 0;
    for (let j = 0; j < jobs; j++) {
      const input = ndjsonEvents(chunksPerJob, CHUNK_SIZE, SEED + j);
      inputBytes += input.byteLength;
      const key = `bench/events-${j}.ndjson`;
      await s3.send(new PutObjectCommand({ Bucket: running.provisioned.bucket, Key: key, Body: input }));

      // From here until the job is done, every request and invocation counts as the job's.
      proxy.setPhase('job');
      meter.phase = 'job';
      const started = performance.now();
      const query = new URLSearchParams({
        pipeline: PIPELINE,
        chunkSize: String(CHUNK_SIZE),
        targets: 'aws',
      });
      const response = await fetch(`${running.url}/jobs?${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source: `s3://${running.provisioned.bucket}/${key}` }),
      });
      const accepted = (await response.json()) as { jobId: string; chunksTotal: number };
      if (response.status !== 202)
        throw new BrokenRunError(`POST /jobs answered ${response.status}: ${JSON.stringify(accepted)}`);
      if (accepted.chunksTotal !== chunksPerJob)
        throw new BrokenRunError(`${accepted.chunksTotal} chunks ingested, not ${chunksPerJob}`);
      const { jobId } = accepted;
      jobIds.push(jobId);
      log(
        `job ${j + 1}/${jobs} ${jobId}: ${chunksPerJob} chunks (${(input.byteLength / 2 ** 20).toFixed(1)} MiB) accepted after ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );

      // Watch the job's summary directly on moto, so that the watching is not counted.
      for (;;) {
        const { Item } = await dynamo.send(
          new GetItemCommand({
            TableName: resources.table.name,
            Key: { pk: { S: `JOB#${jobId}` }, sk: { S: 'SUMMARY' } },
            ConsistentRead: true,
          }),
        );
        if (Item?.status?.S !== undefined) break;
        if (Date.now() > deadline)
          throw new BrokenRunError(`not finished within ${args['timeout-minutes']} minutes`);
        await sleep(500);
      }
      while ((await inQueue(queueUrl)) > 0) {
        if (Date.now() > deadline) throw new BrokenRunError('the queue did not empty');
        await sleep(250);
      }
      const seconds = (performance.now() - started) / 1000;
      jobSeconds += seconds;
      proxy.setPhase('after');
      meter.phase = 'after';

      // Verify through the API: a broken run reports nothing.
      const job = (await (await fetch(`${running.url}/jobs/${jobId}`)).json()) as {
        status: string;
        chunksCompleted: number;
        chunksFailed: number;
      };
      if (job.status !== 'completed' || job.chunksCompleted !== chunksPerJob || job.chunksFailed !== 0) {
        throw new BrokenRunError(`GET /jobs/${jobId}: ${JSON.stringify(job)}`);
      }
      const { tasks } = (await (await fetch(`${running.url}/jobs/${jobId}/tasks`)).json()) as {
        tasks: { index: number; state: string; attempts: unknown[] }[];
      };
      const good = tasks.filter(
        (t, i) => t.index === i && t.state === 'completed' && t.attempts.length === 1,
      );
      if (tasks.length !== chunksPerJob || good.length !== chunksPerJob) {
        throw new BrokenRunError(
          `${good.length} of ${tasks.length} tasks completed on their first try, of ${chunksPerJob}`,
        );
      }
      const result = Buffer.from(await (await fetch(`${running.url}/jobs/${jobId}/result`)).arrayBuffer());
      outputBytes += result.byteLength;
      const expected = createHash('sha256')
        .update(input.toString('latin1').toUpperCase(), 'latin1')
        .digest('hex');
      const actual = createHash('sha256').update(gunzipSync(result)).digest('hex');
      if (actual !== expected)
        throw new BrokenRunError(`job ${jobId}: the result is not the uppercased input`);
      if ((await inQueue(dlqUrl)) > 0) throw new BrokenRunError('the dead-letter queue is not empty');
      log(`job ${j + 1}/${jobs} completed in ${seconds.toFixed(1)} s and verified`);
    }
    const failedInvocations = meter.invocations.filter((i) => i.phase === 'job' && i.failed).length;
    if (failedInvocations > 0) throw new BrokenRunError(`${failedInvocations} handler invocations failed`);

    // The table as it stands at the end, to size the writes whose new image was not returned.
    const items: Item[] = [];
    for await (const page of paginateScan({ client: dynamo }, { TableName: resources.table.name })) {
      items.push(...((page.Items ?? []) as Item[]));
    }
    const jobKeys = new Set(jobIds.map((id) => `JOB#${id}`));
    const taskItemSizes = items
      .filter((item) => jobKeys.has(item.pk?.S ?? '') && item.sk?.S?.startsWith('TASK#'))
      .map(itemSize);

    const records = proxy.records.filter((r) => r.phase === 'job');
    const invocations = meter.invocations.filter((i) => i.phase === 'job');
    const memoryMb = Object.fromEntries(FUNCTIONS.map((fn) => [fn, resources.processor.memoryMb]));
    const model = buildModel({
      chunks,
      records,
      invocations,
      finalSizes: sizesByKey(resources.table.name, items),
      taskItemSizes,
      memoryMb,
    });
    const latency = (service: string) => {
      const values = records
        .filter((r) => r.service === service)
        .map((r) => r.latencyMs)
        .sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)] ?? 0;
    };
    const info: RunInfo = {
      generatedAt: new Date().toISOString(),
      commit: gitCommit(),
      node: process.versions.node,
      cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
      chunks,
      chunkSize: CHUNK_SIZE,
      jobs,
      meanChunkBytes: inputBytes / chunks,
      inputBytes,
      outputBytes,
      pipeline: PIPELINE,
      jobSeconds,
      resources: { processor: resources.processor, stats: resources.stats },
      emulatorLatencyMs: Object.fromEntries(['dynamodb', 'sqs', 's3'].map((s) => [s, latency(s)])),
    };
    process.stdout.write(render(model, info, false));
    if (!args['no-save']) {
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(`${RESULTS}cost.md`, render(model, info, true));
      writeFileSync(
        `${RESULTS}cost.json`,
        `${JSON.stringify({ ...info, verdicts: verdicts(model), model }, null, 2)}\n`,
      );
      log(`saved ${RESULTS}cost.md and cost.json`);
    }
  } finally {
    await mode?.stop().catch((error: unknown) => log(`stopping emulator mode: ${String(error)}`));
    for (const client of direct) client.destroy();
    await proxy?.close();
    await moto?.stop();
  }
};

await main();
