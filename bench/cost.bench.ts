import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { DynamoDBClient, GetItemCommand, paginateScan } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Cloud } from '../src/core/cost/model.ts';
import { defineGcpResources } from '../src/deploy/gcp-resources.ts';
import { defineResources } from '../src/deploy/resources.ts';
import type { EmulatorMode } from '../src/local/emulator-mode.ts';
import { awsEmulatorEnvironment, PUBSUB_PROJECT_ID } from '../src/local/emulator-state.ts';
import { awsClientConfig, type Emulator, startMoto, startPubsubEmulator } from '../src/local/emulators.ts';
import {
  awsCounts,
  type CloudCounts,
  dollarsPerMillion,
  modelPerMillion,
  PubSubMeter,
  type RoutedJob,
  routingVerdicts,
} from './cost/clouds.ts';
import { type Item, itemSize, sizesByKey } from './cost/dynamo-units.ts';
import { ndjsonEvents } from './cost/input.ts';
import { LambdaMeter } from './cost/lambda-meter.ts';
import { buildModel } from './cost/model.ts';
import { type CountingProxy, startCountingProxy } from './cost/proxy.ts';
import { type RunInfo, render, renderClouds, verdicts } from './cost/report.ts';

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
    'gcp-jobs': { type: 'string', default: '2' },
    'route-chunks': { type: 'string', default: '60' },
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

  const gcpJobs = Number(args['gcp-jobs']);
  const routeChunks = Number(args['route-chunks']);
  if (![gcpJobs, routeChunks].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--gcp-jobs and --route-chunks must be positive integers');
  }

  const meter = new LambdaMeter();
  meter.install(new URL('functions/', ROOT), FUNCTIONS);
  const pubsubMeter = new PubSubMeter();

  let moto: Emulator | undefined;
  let pubsubEmulator: Emulator | undefined;
  let proxy: CountingProxy | undefined;
  let mode: EmulatorMode | undefined;
  const direct: { destroy: () => void }[] = [];
  try {
    [moto, pubsubEmulator] = await Promise.all([startMoto(), startPubsubEmulator()]);
    log(
      `moto on ${moto.endpoint} (pid ${moto.pid}), Pub/Sub emulator on ${pubsubEmulator.address} (pid ${pubsubEmulator.pid})`,
    );
    proxy = await startCountingProxy(moto.endpoint);
    log(`counting proxy on ${proxy.endpoint}`);
    Object.assign(process.env, {
      ...awsEmulatorEnvironment(proxy.endpoint),
      PUBSUB_EMULATOR_HOST: pubsubEmulator.address,
      PUBSUB_PROJECT_ID,
      // The processor names each try's worker after its log stream: give it a name of the real length.
      AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${createHash('sha256').update('bench').digest('hex').slice(0, 32)}`,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const prefix = `bench-${process.pid}`;
    const resources = defineResources({ prefix });
    const gcp = defineGcpResources({ prefix });
    // The bench's jobs run in the default lane, medium.
    const gcpTopic = gcp.targets[0]?.lanes.medium.topic ?? '';
    pubsubMeter.install((topic) => topic.endsWith(`/topics/${gcpTopic}`));
    const { startEmulatorMode } = await import('../src/local/emulator-mode.ts');
    mode = await startEmulatorMode({
      resources,
      gcp,
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
    let jobCount = 0;

    interface TargetStats {
      attempts: number;
      completed: number;
      costUsd: number;
      durationMs: { count: number; avg: number };
    }
    interface JobStats {
      duplicates: number;
      costUsd: number;
      bytes: { done: number; out: number };
      targets: Record<string, TargetStats>;
    }
    /**
     * Runs one job through the API and checks it: every chunk completed on its first try, the result is
     * the uppercased input, no dead letter. Every request from its POST until then counts as `phase`'s.
     */
    const runJob = async (phase: string, input: Buffer, query: Record<string, string>) => {
      const j = ++jobCount;
      const chunks = Number(query.chunks);
      const key = `bench/events-${j}.ndjson`;
      await s3.send(new PutObjectCommand({ Bucket: running.provisioned.bucket, Key: key, Body: input }));
      proxy?.setPhase(phase);
      meter.phase = phase;
      pubsubMeter.phase = phase;
      const started = performance.now();
      const { chunks: _chunks, ...params } = query;
      const response = await fetch(
        `${running.url}/jobs?${new URLSearchParams({ pipeline: PIPELINE, ...params })}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: `s3://${running.provisioned.bucket}/${key}` }),
        },
      );
      const accepted = (await response.json()) as { jobId: string; chunksTotal: number };
      if (response.status !== 202)
        throw new BrokenRunError(`POST /jobs answered ${response.status}: ${JSON.stringify(accepted)}`);
      const { jobId } = accepted;
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
      proxy?.setPhase('after');
      meter.phase = 'after';
      pubsubMeter.phase = 'after';

      // Verify through the API: a broken run reports nothing.
      const job = (await (await fetch(`${running.url}/jobs/${jobId}`)).json()) as {
        status: string;
        chunksCompleted: number;
        chunksFailed: number;
        stats: JobStats;
      };
      if (job.status !== 'completed' || job.chunksCompleted !== chunks || job.chunksFailed !== 0) {
        throw new BrokenRunError(`GET /jobs/${jobId}: ${JSON.stringify({ ...job, stats: undefined })}`);
      }
      const { tasks } = (await (await fetch(`${running.url}/jobs/${jobId}/tasks`)).json()) as {
        tasks: { index: number; state: string; attempts: unknown[] }[];
      };
      const good = tasks.filter(
        (t, i) => t.index === i && t.state === 'completed' && t.attempts.length === 1,
      );
      if (tasks.length !== chunks || good.length !== chunks) {
        throw new BrokenRunError(
          `${good.length} of ${tasks.length} tasks completed on their first try, of ${chunks}`,
        );
      }
      const result = Buffer.from(await (await fetch(`${running.url}/jobs/${jobId}/result`)).arrayBuffer());
      const expected = createHash('sha256')
        .update(input.toString('latin1').toUpperCase(), 'latin1')
        .digest('hex');
      if (createHash('sha256').update(gunzipSync(result)).digest('hex') !== expected)
        throw new BrokenRunError(`job ${jobId}: the result is not the uppercased input`);
      if ((await inQueue(dlqUrl)) > 0) throw new BrokenRunError('the dead-letter queue is not empty');
      log(
        `${phase} job ${jobId}: ${chunks} chunks of ${query.chunkSize} B completed in ${seconds.toFixed(1)} s and verified`,
      );
      return { jobId, seconds, outputBytes: result.byteLength, stats: job.stats };
    };

    // AWS: the jobs whose counts the AWS report is built from.
    const jobIds: string[] = [];
    let jobSeconds = 0;
    let inputBytes = 0;
    let outputBytes = 0;
    for (let j = 0; j < jobs; j++) {
      const input = ndjsonEvents(chunksPerJob, CHUNK_SIZE, SEED + j);
      inputBytes += input.byteLength;
      const run = await runJob('job', input, {
        chunkSize: String(CHUNK_SIZE),
        targets: 'aws',
        chunks: String(chunksPerJob),
      });
      jobIds.push(run.jobId);
      jobSeconds += run.seconds;
      outputBytes += run.outputBytes;
    }

    // Google Cloud: the same chunks through the Pub/Sub push function, counted the same way.
    const gcpChunks = gcpJobs * Math.min(chunksPerJob, 100);
    const gcpRuns: Awaited<ReturnType<typeof runJob>>[] = [];
    for (let j = 0; j < gcpJobs; j++) {
      const input = ndjsonEvents(gcpChunks / gcpJobs, CHUNK_SIZE, SEED + 100 + j);
      gcpRuns.push(
        await runJob('gcp', input, {
          chunkSize: String(CHUNK_SIZE),
          targets: 'gcp',
          chunks: String(gcpChunks / gcpJobs),
        }),
      );
    }

    // Routing: small and large chunks, with cheapest and with round_robin, on both targets.
    const routed: RoutedJob[] = [];
    for (const chunkSize of [4096, 262_144]) {
      const chunks = chunkSize === 4096 ? routeChunks : Math.max(2, Math.round(routeChunks / 4));
      const input = ndjsonEvents(chunks, chunkSize, SEED + chunkSize);
      for (const strategy of ['cheapest', 'round_robin']) {
        const run = await runJob('route', input, {
          chunkSize: String(chunkSize),
          targets: 'aws,gcp',
          strategy,
          chunks: String(chunks),
        });
        routed.push({
          strategy,
          chunkSize,
          chunks,
          completed: Object.fromEntries(Object.entries(run.stats.targets).map(([t, v]) => [t, v.completed])),
          costUsd: run.stats.costUsd,
        });
      }
    }

    const failedInvocations = meter.invocations.filter(
      (i) => i.phase !== 'setup' && i.phase !== 'after' && i.failed,
    ).length;
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
    const finalSizes = sizesByKey(resources.table.name, items);

    const records = proxy.records.filter((r) => r.phase === 'job');
    const invocations = meter.invocations.filter((i) => i.phase === 'job');
    const memoryMb = Object.fromEntries(FUNCTIONS.map((fn) => [fn, resources.processor.memoryMb]));
    const model = buildModel({ chunks, records, invocations, finalSizes, taskItemSizes, memoryMb });

    const gcpRecords = proxy.records.filter((r) => r.phase === 'gcp');
    const gcpModel = buildModel({
      chunks: gcpChunks,
      records: gcpRecords,
      invocations: meter.invocations.filter((i) => i.phase === 'gcp'),
      finalSizes,
      taskItemSizes: [0],
      memoryMb,
    });
    const gcpTarget = (name: string) => gcpRuns.map((r) => r.stats.targets[name] as TargetStats);
    const pushes =
      gcpTarget('gcp').reduce((sum, t) => sum + t.attempts, 0) +
      gcpRuns.reduce((s, r) => s + r.stats.duplicates, 0);
    const pipelineMs = gcpTarget('gcp').reduce((sum, t) => sum + t.durationMs.avg * t.durationMs.count, 0);
    const clouds: CloudCounts[] = [
      {
        cloud: Cloud.aws,
        chunks,
        ...awsCounts(records, finalSizes),
        lambdaInvocations: model.lambda.invocations,
        lambdaGbSeconds: model.lambda.gbSecondsCpu,
        publishBytes: 0,
        pushes: 0,
        cloudRunSeconds: 0,
        bytesIn: 0,
        bytesOut: 0,
      },
      {
        cloud: Cloud.gcp,
        chunks: gcpChunks,
        ...awsCounts(gcpRecords, finalSizes),
        lambdaInvocations: gcpModel.lambda.invocations,
        lambdaGbSeconds: gcpModel.lambda.gbSecondsCpu,
        publishBytes: pubsubMeter.count('gcp').billedBytes,
        pushes,
        cloudRunSeconds: Math.max(pipelineMs, pushes * 100) / 1000,
        bytesIn: gcpRuns.reduce((s, r) => s + r.stats.bytes.done, 0),
        bytesOut: gcpRuns.reduce((s, r) => s + r.stats.bytes.out, 0),
      },
    ];
    const side = clouds.map((c) => ({
      counts: c,
      lines: dollarsPerMillion(c),
      model: modelPerMillion(c.cloud),
    }));
    const routing = routingVerdicts(routed);
    const totalOf = (strategy: string) =>
      routed.filter((r) => r.strategy === strategy).reduce((s, r) => s + r.costUsd, 0);
    const cheapestTotal = totalOf('cheapest');
    const roundRobinTotal = totalOf('round_robin');
    const publish = pubsubMeter.count('gcp');

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
    const clouded = { side, publish, routing, routed, cheapestTotal, roundRobinTotal };
    const cloudsMd = renderClouds(clouded);
    process.stdout.write(render(model, info, false) + cloudsMd);
    const wrongShares = routing.filter((r) => !r.matches);
    if (wrongShares.length > 0)
      throw new BrokenRunError(
        `cheapest's shares do not match the model's choice: ${JSON.stringify(wrongShares)}`,
      );
    if (cheapestTotal > roundRobinTotal)
      throw new BrokenRunError(
        `cheapest cost $${cheapestTotal}, more than round_robin's $${roundRobinTotal}`,
      );
    if (!args['no-save']) {
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(`${RESULTS}cost.md`, render(model, info, true) + cloudsMd);
      writeFileSync(
        `${RESULTS}cost.json`,
        `${JSON.stringify({ ...info, verdicts: verdicts(model), model, clouds: clouded }, null, 2)}\n`,
      );
      log(`saved ${RESULTS}cost.md and cost.json`);
    }
  } finally {
    await mode?.stop().catch((error: unknown) => log(`stopping emulator mode: ${String(error)}`));
    for (const client of direct) client.destroy();
    await proxy?.close();
    await moto?.stop();
    await pubsubEmulator?.stop();
  }
};

await main();
