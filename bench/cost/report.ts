import { LIST_PRICES } from '../../src/core/cost/prices.ts';
import type { CloudCounts, PublishCount, RoutedJob, RoutingVerdict } from './clouds.ts';
import { type CostModel, LAMBDA_MB_PER_VCPU, PER, STEP_FUNCTIONS, TARGETS } from './model.ts';

export interface Verdict {
  figure: string;
  measured: number;
  target: number;
  unit: string;
  met: boolean;
}

export interface RunInfo {
  generatedAt: string;
  commit: string;
  node: string;
  cpu: string;
  chunks: number;
  /** Jobs run one after another; `chunks` is their total. */
  jobs: number;
  chunkSize: number;
  meanChunkBytes: number;
  inputBytes: number;
  outputBytes: number;
  pipeline: string;
  jobSeconds: number;
  resources: Record<string, unknown>;
  emulatorLatencyMs: Record<string, number>;
}

const money = (n: number): string => (n >= 0.01 || n === 0 ? `$${n.toFixed(4)}` : `$${n.toPrecision(3)}`);
const num = (n: number, digits = 4): string =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(digits);

export const verdicts = (model: CostModel): Verdict[] => {
  const byName = (name: string) => model.services.find((s) => s.service === name);
  return [
    {
      figure: 'DynamoDB requests per chunk',
      measured: byName('DynamoDB')?.requestsPerChunk ?? Number.NaN,
      target: TARGETS.dynamoRequestsPerChunk,
      unit: '',
      met:
        (byName('DynamoDB')?.requestsPerChunk ?? Number.POSITIVE_INFINITY) <= TARGETS.dynamoRequestsPerChunk,
    },
    {
      figure: 'SQS requests per chunk',
      measured: byName('SQS')?.requestsPerChunk ?? Number.NaN,
      target: TARGETS.sqsRequestsPerChunk,
      unit: '',
      met: (byName('SQS')?.requestsPerChunk ?? Number.POSITIVE_INFINITY) <= TARGETS.sqsRequestsPerChunk,
    },
    {
      figure: 'modelled total per 1M 64 KiB chunks (Lambda duration on the CPU basis)',
      measured: model.totals.cpuBasis.dollarsPerMillionChunks,
      target: TARGETS.dollarsPerMillionChunks,
      unit: '$',
      met: model.totals.cpuBasis.dollarsPerMillionChunks <= TARGETS.dollarsPerMillionChunks,
    },
    {
      figure: 'modelled total per 1M 64 KiB chunks (Lambda duration on the wall basis)',
      measured: model.totals.wallBasis.dollarsPerMillionChunks,
      target: TARGETS.dollarsPerMillionChunks,
      unit: '$',
      met: model.totals.wallBasis.dollarsPerMillionChunks <= TARGETS.dollarsPerMillionChunks,
    },
  ];
};

const table = (head: string[], rows: string[][]): string[] => [
  `| ${head.join(' | ')} |`,
  `| ${head.map(() => '---').join(' | ')} |`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];

export const assumptions = (model: CostModel, info: RunInfo): string[] => {
  const processor = model.lambda.functions.find((f) => f.fn === 'process-aws');
  return [
    `Scaling: every count is divided by the ${info.chunks.toLocaleString('en-US')} chunks (mean ${info.meanChunkBytes.toFixed(0)} B, chunk size ${info.chunkSize} B, \`lines\` chunking) and multiplied by 1,000,000. The chunks come in ${info.jobs} jobs of ${info.chunks / info.jobs} because the emulator mode gives the ingest function API Gateway's 29 s, and ingest enqueues the whole input within its request: on moto it manages about 10-20 chunks a second, so a job of 1,000+ chunks times out. Per-job fixed costs (the ingest invocation, the job item, the source GET, the processor's first read of the job, the job's last stats batch) are therefore spread over ${info.chunks / info.jobs} chunks, which overstates them against one large job.`,
    `What is counted: every request the ingest, processor and stats handlers and the local event sources make from the POST of each job until its summary says completed and the queue is empty (the "job" phase of the proxy; the next job starts after the previous one is verified). The event sources stand in for Lambda's event source mappings: AWS bills the mapping's SQS requests (receives, deletes) to the account, so they are priced. Not counted: provisioning, the upload of the input to S3 by the caller (one PUT per job), and the bench's own status reads (it watches the job's summary directly on the emulator and makes the API calls that verify the run afterwards).`,
    `SQS: each request is max(1, ceil(payload / 65,536)) billed units at $${LIST_PRICES.sqs_per_million_requests} per million; the payload is the message bodies plus message attributes, of the request for sends and of the response for receives; deletes are 1 unit. Empty receives are listed apart and priced like any other request. The local SQS event source long-polls for 1 s (Lambda's pollers use up to 20 s) and re-polls every 50 ms while it fills a batch within the batching window, so its idle receives are an emulator-side count, not Lambda's.`,
    `DynamoDB: item sizes by DynamoDB's rules (attribute names + values; numbers 1 byte per 2 significant digits + 1; lists and maps 3 bytes + 1 byte per element). A write costs ceil(max(item before, item after) / 1 KB) WRU, at least 1; a transactional write twice that; a failed conditional write the size of the item it was checked on. The item before a write is what the previous write of the key left; the item after is the Put's item, the new image an update returned (a claim, which only a redelivery makes, asks for ALL_NEW), or else the item as it stands at the end of the run (exact for a task's last write: the one write of a try recorded whole, or a claimed try's finish; ${model.dynamo.sizedFromFinal} item writes were sized this way). Reads: ceil(size / 4 KB) RRU, at least 1, halved when eventually consistent. $${LIST_PRICES.dynamodb_per_million_wru} per million WRU, $${LIST_PRICES.dynamodb_per_million_rru} per million RRU (on-demand). The processor's workerId is the Lambda log stream name; the bench sets AWS_LAMBDA_LOG_STREAM_NAME to one of the real format (\`YYYY/MM/DD/[$LATEST]\` + 32 hex digits) so that task items have their AWS size (${model.dynamo.taskItemBytes.min}-${model.dynamo.taskItemBytes.max} B after the finish here). Storage, streams' own charge (none for Lambda triggers) and TTL deletes (free) are not modelled.`,
    'DynamoDB Streams: the stats function reads the table stream through a Lambda trigger; AWS does not bill GetRecords made by a Lambda trigger, so those requests are counted and priced at $0.',
    `S3: PUT, COPY, POST and LIST requests $${LIST_PRICES.s3_put_per_thousand} per 1,000; GET and all other requests $${LIST_PRICES.s3_get_per_thousand} per 1,000; DELETE free. Storage (objects live 7 days) and data transfer (none inside a region) are not modelled.`,
    `Lambda: $${LIST_PRICES.lambda_per_million_requests} per million requests; duration at the arm64 price, $${LIST_PRICES.lambda_arm_per_gb_second} per GB-s, each invocation rounded up to 1 ms. Memory: process-aws ${processor?.memoryMb ?? '?'} MB from src/cloud/resources.ts; the definitions give the ingest and stats functions no memory of their own, so they are modelled at the processor's. Two duration bases: (wall) each handler invocation timed here from call to settled promise, an upper bound, since every request waits on moto (a single Python process; median latency per request here: ${Object.entries(
      info.emulatorLatencyMs,
    )
      .map(([s, ms]) => `${s} ${ms.toFixed(1)} ms`)
      .join(
        ', ',
      )}), far slower than the AWS services; (CPU) the main-thread CPU time spent in each invocation's own async context (async_hooks, process.threadCpuUsage), stretched by ${LAMBDA_MB_PER_VCPU} MB / memory when the function has less than one vCPU (Lambda gives ${LAMBDA_MB_PER_VCPU} MB one vCPU), i.e. what the handlers' work costs when it runs at Lambda's CPU share. The targets are judged on the CPU basis: it is what the handlers' own work costs and does not depend on the emulator's speed; it leaves out the time a handler waits on AWS's services (a few round trips of single-digit to tens of ms per batch), so it is a lower bound, and the wall basis is shown next to it. Measured on ${info.cpu} (x86-64), not Graviton; init (cold start) time is not counted.`,
    'Not modelled: API Gateway (one request per job), CloudWatch Logs and metrics, data transfer, storage.',
    `Step Functions reference (the issue's figures for the same work with Distributed Map and Lambda): $${STEP_FUNCTIONS.express[0].toFixed(2)}-${STEP_FUNCTIONS.express[1].toFixed(2)} per million chunks with Express children, $${STEP_FUNCTIONS.standard[0].toFixed(2)}-${STEP_FUNCTIONS.standard[1].toFixed(2)} with Standard children.`,
  ];
};

const perChunk = (n: number, chunks: number): string => (n / chunks).toFixed(4);

export const render = (model: CostModel, info: RunInfo, markdown: boolean): string => {
  const { chunks } = model;
  const lines: string[] = [];
  const h = (title: string) => lines.push('', markdown ? `## ${title}` : `${title}:`, '');
  lines.push(
    markdown ? '# Fanout cloud cost benchmark' : 'Fanout cloud cost benchmark',
    '',
    `Generated ${info.generatedAt} by \`npm run bench:cost\` on commit ${info.commit}, node ${info.node}. ${info.jobs} jobs of ${(chunks / info.jobs).toLocaleString('en-US')} chunks of 64 KiB, run one after another (${chunks.toLocaleString('en-US')} chunks, ${(info.inputBytes / 2 ** 20).toFixed(1)} MiB of NDJSON in all; pipeline \`${info.pipeline}\`, targets=aws) through the real Lambda handlers on moto; they completed every chunk in ${info.jobSeconds.toFixed(1)} s of job time. Every count below was measured in that run; the dollars are the model below applied to it.`,
  );
  h('Cost per 1 million 64 KiB chunks');
  lines.push(
    ...table(
      ['service', 'requests', 'requests / chunk', 'billed', '$ in this run', '$ per 1M chunks'],
      model.services.map((s) => [
        s.service,
        s.requests ? num(s.requests) : '—',
        s.requests ? perChunk(s.requests, chunks) : '—',
        Object.entries(s.units)
          .map(([k, v]) => `${num(v, 3)} ${k} (${perChunk(v, chunks)}/chunk)`)
          .join('; '),
        money(s.dollars),
        money(s.dollarsPerMillionChunks),
      ]),
    ),
    '',
    `Total per 1M chunks, Lambda duration on the CPU basis (judged): ${money(model.totals.cpuBasis.dollarsPerMillionChunks)}`,
    `Total per 1M chunks, Lambda duration on the wall basis (emulator, upper bound): ${money(model.totals.wallBasis.dollarsPerMillionChunks)}`,
    `Step Functions Distributed Map + Lambda, same work: $${STEP_FUNCTIONS.express.join('-')} (Express children), $${STEP_FUNCTIONS.standard.join('-')} (Standard children)`,
  );
  h('Targets');
  lines.push(
    ...table(
      ['figure', 'measured', 'target', 'result'],
      verdicts(model).map((v) => [
        v.figure,
        v.unit === '$' ? money(v.measured) : v.measured.toFixed(4),
        `≤ ${v.unit === '$' ? money(v.target) : v.target}`,
        v.met ? 'MET' : 'MISSED',
      ]),
    ),
  );
  h('Lambda');
  lines.push(
    ...table(
      [
        'function',
        'MB',
        'invocations',
        'records / invocation',
        'wall s',
        'CPU s',
        'CPU s at its vCPU share',
        'GB-s wall',
        'GB-s CPU',
      ],
      model.lambda.functions.map((f) => [
        f.fn + (f.failed ? ` (${f.failed} failed)` : ''),
        String(f.memoryMb),
        num(f.invocations),
        f.invocations ? (f.records / f.invocations).toFixed(1) : '—',
        f.wallSeconds.toFixed(2),
        f.cpuSeconds.toFixed(2),
        f.cpuBilledSeconds.toFixed(2),
        f.gbSecondsWall.toFixed(2),
        f.gbSecondsCpu.toFixed(2),
      ]),
    ),
    '',
    `Per 1M chunks: ${num((model.lambda.invocations / chunks) * PER, 0)} invocations; ${((model.lambda.gbSecondsCpu / chunks) * PER).toFixed(0)} GB-s on the CPU basis, ${((model.lambda.gbSecondsWall / chunks) * PER).toFixed(0)} GB-s on the wall basis.`,
  );
  h('Every request, by service and operation');
  lines.push(
    ...table(
      [
        'service',
        'operation',
        'requests',
        'per chunk',
        'messages',
        'SQS units',
        'request MB',
        'response MB',
        'median ms',
      ],
      model.operations.map((o) => [
        o.service,
        o.operation,
        num(o.requests),
        perChunk(o.requests, chunks),
        o.messages === undefined ? '' : num(o.messages),
        o.units === undefined ? '' : num(o.units),
        (o.requestBytes / 1e6).toFixed(3),
        (o.responseBytes / 1e6).toFixed(3),
        o.medianLatencyMs.toFixed(1),
      ]),
    ),
    '',
    `DynamoDB capacity: ${num(model.dynamo.wru, 1)} WRU (${perChunk(model.dynamo.wru, chunks)}/chunk), ${num(model.dynamo.rru, 1)} RRU (${perChunk(model.dynamo.rru, chunks)}/chunk); task items ${model.dynamo.taskItemBytes.min}-${model.dynamo.taskItemBytes.max} B after their finish.`,
  );
  h('Diagnostics');
  const ops = (service: string, operation: string) =>
    model.operations.find((o) => o.service === service && o.operation === operation)?.requests ?? 0;
  const processor = model.lambda.functions.find((f) => f.fn === 'process-aws');
  const gets = ops('s3', 'GetObject');
  const perM = (n: number, price: number) => money((n / chunks) * price);
  lines.push(
    `- Processor batches: ${processor?.invocations ?? 0} invocations, ${processor?.invocations ? (processor.records / processor.invocations).toFixed(1) : '—'} records each on average (batch size ${String((info.resources.processor as { batchSize?: number })?.batchSize)}).`,
    `- S3 GetObject: ${gets} (${(gets / chunks).toFixed(3)} per chunk, ${perM(gets, LIST_PRICES.s3_get_per_thousand * 1000)} per 1M chunks); one is ingest reading the source, the rest are the processor's ranged reads of input segments: ${processor?.invocations ? ((gets - 1) / processor.invocations).toFixed(1) : '—'} per invocation.`,
    `- S3 PutObject: ${ops('s3', 'PutObject')} (${perM(ops('s3', 'PutObject'), LIST_PRICES.s3_put_per_thousand * 1000)} per 1M chunks): input segments (≤ 8 MiB) plus one result object per processor batch.`,
    `- DynamoDB UpdateItem ${ops('dynamodb', 'UpdateItem')} (one per try: a first delivery's try recorded whole at its end; a redelivery claims, then finishes; plus the job's total), TransactWriteItems ${ops('dynamodb', 'TransactWriteItems')} and GetItem ${ops('dynamodb', 'GetItem')} (the stats function, per batch and job; the processor's first read of the job), PutItem ${ops('dynamodb', 'PutItem')} (the job).`,
  );
  h('Model and assumptions');
  for (const text of assumptions(model, info)) lines.push(`- ${text}`);
  h('Run');
  lines.push(
    `- resources (src/cloud/resources.ts, as run): ${JSON.stringify(info.resources)}`,
    `- input ${info.inputBytes} B, result ${info.outputBytes} B (gzip), checked: every chunk completed on its first try, the result equals the uppercased input, the dead-letter queue and the queue are empty`,
  );
  return `${lines.join('\n')}\n`;
};

export interface CloudsReport {
  side: { counts: CloudCounts; lines: Record<string, number>; model: number }[];
  publish: PublishCount;
  routing: RoutingVerdict[];
  routed: RoutedJob[];
  cheapestTotal: number;
  roundRobinTotal: number;
}

/** AWS and Google Cloud side by side, and cheapest against round_robin on the same mixed work. */
export const renderClouds = (report: CloudsReport): string => {
  const [aws, gcp] = report.side;
  if (aws === undefined || gcp === undefined) return '';
  const lines: string[] = ['', '## AWS and Google Cloud side by side', ''];
  const total = (lines: Record<string, number>) => Object.values(lines).reduce((a, b) => a + b, 0);
  lines.push(
    `Per 1M 64 KiB chunks of the same pipeline, from the requests counted on moto and the Pub/Sub emulator: AWS over ${aws.counts.chunks.toLocaleString('en-US')} chunks (targets=aws), Google Cloud over ${gcp.counts.chunks.toLocaleString('en-US')} chunks (targets=gcp). Both include ingest and the stats function (Lambda, on the CPU basis), which run on AWS either way. Prices: src/core/cost/prices.ts.`,
    '',
    ...table(
      ['service', 'AWS $ / 1M chunks', 'Google Cloud $ / 1M chunks'],
      Object.keys(aws.lines).map((name) => [name, money(aws.lines[name] ?? 0), money(gcp.lines[name] ?? 0)]),
    ),
    `| **total** | **${money(total(aws.lines))}** | **${money(total(gcp.lines))}** |`,
    `| the model's per-try constants (src/core/cost/model.ts), 64 KiB in and out | ${money(aws.model)} | ${money(gcp.model)} |`,
    '',
    `Counted per chunk: ${[aws, gcp]
      .map(
        ({ counts: c }) =>
          `${c.cloud}: ${(c.sqsUnits / c.chunks).toFixed(3)} SQS units, ${(c.wru / c.chunks).toFixed(3)} WRU, ${(c.rru / c.chunks).toFixed(3)} RRU, ${(c.s3Puts / c.chunks).toFixed(3)} S3 PUT, ${(c.s3Gets / c.chunks).toFixed(3)} S3 GET, ${(c.lambdaInvocations / c.chunks).toFixed(3)} Lambda invocations, ${(c.pushes / c.chunks).toFixed(3)} pushes`,
      )
      .join(
        '; ',
      )}. Pub/Sub publish: ${report.publish.requests} requests, ${report.publish.messages} messages, ${(report.publish.billedBytes / Math.max(1, report.publish.messages)).toFixed(0)} billed bytes per message; each push is billed 1,000 B. The emulator's push carries no delivery count, so every Google delivery claims before it runs (2 writes instead of 1 on Google Cloud, where the subscription's dead-letter policy gives the count): the WRU above count that.`,
    '',
    '## cheapest against round_robin',
    '',
    "The same work, small and large chunks, on targets aws,gcp in emulator mode; `costUsd` is what each job's stats report (the cloud runtime's model).",
    '',
    ...table(
      ['chunk size', 'chunks', 'strategy', 'aws', 'gcp', 'costUsd'],
      report.routed.map((r) => [
        `${r.chunkSize / 1024} KiB`,
        String(r.chunks),
        r.strategy,
        String(r.completed.aws ?? 0),
        String(r.completed.gcp ?? 0),
        `$${r.costUsd.toPrecision(4)}`,
      ]),
    ),
    '',
    ...report.routing.map(
      (v) =>
        `- ${v.chunkSize / 1024} KiB: the model's cheaper cloud is ${v.modelChoice}; cheapest sent ${(100 * (v.cheapestShare[v.modelChoice] ?? 0)).toFixed(0)}% there: ${v.matches ? 'MATCHES' : 'DOES NOT MATCH'}`,
    ),
    `- modelled total: cheapest $${report.cheapestTotal.toPrecision(4)}, round_robin $${report.roundRobinTotal.toPrecision(4)}: ${report.cheapestTotal <= report.roundRobinTotal ? 'cheapest ≤ round_robin' : 'CHEAPEST COSTS MORE'}`,
    '',
  );
  return lines.join('\n');
};
