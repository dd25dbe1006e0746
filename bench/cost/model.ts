import { LIST_PRICES } from '../../src/core/cost/prices.ts';
import { type DynamoRequest, dynamoUnits, isDataOperation } from './dynamo-units.ts';
import type { Invocation } from './lambda-meter.ts';
import { type RequestRecord, Service } from './proxy.ts';

/** SQS bills each 64 KiB of a request as one request. */
export const SQS_UNIT_BYTES = 65_536;
/** Lambda gives a function one vCPU's worth of CPU at 1,769 MB, proportionally less below. */
export const LAMBDA_MB_PER_VCPU = 1769;

export const TARGETS = {
  dynamoRequestsPerChunk: 2.2,
  sqsRequestsPerChunk: 0.4,
  dollarsPerMillionChunks: 1.6,
} as const;

/** Step Functions Distributed Map with Lambda for the same work (the reference figures). */
export const STEP_FUNCTIONS = {
  express: [2.0, 2.6],
  standard: [4.3, 7.5],
} as const;

export const PER = 1_000_000;

/** S3 requests billed at the PUT, COPY, POST, LIST rate; DELETE is free, everything else is a GET-tier request. */
const S3_PUT_TIER =
  /^(PutObject|CopyObject|UploadPart|UploadPartCopy|CreateMultipartUpload|CompleteMultipartUpload|PostObject|ListObjects|ListBuckets|CreateBucket|PutBucket:.*)$/;
const S3_FREE = /^(DeleteObject|DeleteObjects|DeleteBucket|AbortMultipartUpload)$/;

export interface OperationCount {
  service: Service;
  operation: string;
  requests: number;
  /** SQS: billed 64 KB units. DynamoDB/S3/Streams: not used here. */
  units?: number;
  messages?: number;
  requestBytes: number;
  responseBytes: number;
  medianLatencyMs: number;
}

export interface ServiceCost {
  service: string;
  requests: number;
  requestsPerChunk: number;
  /** What is billed, by name: e.g. { 'billed units': 123 } or { WRU: 1, RRU: 2 }. */
  units: Record<string, number>;
  dollars: number;
  dollarsPerMillionChunks: number;
  notes: string[];
}

export interface LambdaFunctionFigures {
  fn: string;
  memoryMb: number;
  invocations: number;
  failed: number;
  records: number;
  wallSeconds: number;
  cpuSeconds: number;
  /** CPU time stretched to the function's vCPU share: what a CPU-bound handler would be billed. */
  cpuBilledSeconds: number;
  gbSecondsWall: number;
  gbSecondsCpu: number;
}

export interface LambdaCost {
  functions: LambdaFunctionFigures[];
  invocations: number;
  requestDollars: number;
  gbSecondsWall: number;
  gbSecondsCpu: number;
  durationDollarsWall: number;
  durationDollarsCpu: number;
}

export interface CostModel {
  chunks: number;
  operations: OperationCount[];
  services: ServiceCost[];
  lambda: LambdaCost;
  dynamo: { wru: number; rru: number; sizedFromFinal: number; taskItemBytes: { min: number; max: number } };
  totals: {
    /** The total the targets are judged on: Lambda duration from CPU time. */
    cpuBasis: { dollars: number; dollarsPerMillionChunks: number };
    wallBasis: { dollars: number; dollarsPerMillionChunks: number };
  };
}

const median = (values: number[]): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export const sqsUnits = (payloadBytes: number): number =>
  Math.max(1, Math.ceil(payloadBytes / SQS_UNIT_BYTES));

/** An SQS receive that returned nothing is listed apart from one that returned messages. */
const operationName = (record: RequestRecord): string =>
  record.service === Service.sqs && record.operation === 'ReceiveMessage'
    ? record.sqsMessages
      ? 'ReceiveMessage (with messages)'
      : 'ReceiveMessage (empty)'
    : record.operation;

export const countOperations = (records: readonly RequestRecord[]): OperationCount[] => {
  const groups = new Map<string, RequestRecord[]>();
  for (const record of records) {
    const key = `${record.service}\u0000${operationName(record)}`;
    groups.set(key, [...(groups.get(key) ?? []), record]);
  }
  return [...groups.entries()]
    .map(([key, group]) => {
      const [service, operation] = key.split('\u0000') as [Service, string];
      const count: OperationCount = {
        service,
        operation,
        requests: group.length,
        requestBytes: group.reduce((sum, r) => sum + r.requestBytes, 0),
        responseBytes: group.reduce((sum, r) => sum + r.responseBytes, 0),
        medianLatencyMs: median(group.map((r) => r.latencyMs)),
      };
      if (service === Service.sqs) {
        count.units = group.reduce((sum, r) => sum + sqsUnits(r.sqsPayloadBytes ?? 0), 0);
        count.messages = group.reduce((sum, r) => sum + (r.sqsMessages ?? 0), 0);
      }
      return count;
    })
    .sort((a, b) => a.service.localeCompare(b.service) || b.requests - a.requests);
};

export interface ModelInput {
  chunks: number;
  records: readonly RequestRecord[];
  invocations: readonly Invocation[];
  /** Item sizes at the end of the run, by key (see dynamo-units.ts). */
  finalSizes: ReadonlyMap<string, number>;
  /** Sizes of the job's task items at the end of the run. */
  taskItemSizes: readonly number[];
  memoryMb: Record<string, number>;
}

export const buildModel = (input: ModelInput): CostModel => {
  const { chunks, records } = input;
  const perM = (dollars: number) => (dollars / chunks) * PER;
  const of = (service: Service) => records.filter((r) => r.service === service);

  const sqs = of(Service.sqs);
  const sqsBilled = sqs.reduce((sum, r) => sum + sqsUnits(r.sqsPayloadBytes ?? 0), 0);
  const sqsDollars = (sqsBilled / PER) * LIST_PRICES.sqs_per_million_requests;

  const dynamoRecords = of(Service.dynamodb);
  const dataPlane = dynamoRecords.filter((r) => isDataOperation(r.operation));
  const units = dynamoUnits(
    dataPlane.map(
      (r): DynamoRequest => ({
        operation: r.operation,
        status: r.status,
        request: r.dynamo?.request,
        response: r.dynamo?.response,
      }),
    ),
    input.finalSizes,
  );
  const dynamoDollars =
    (units.wru / PER) * LIST_PRICES.dynamodb_per_million_wru +
    (units.rru / PER) * LIST_PRICES.dynamodb_per_million_rru;

  const streams = of(Service.streams);

  const s3 = of(Service.s3);
  const s3Put = s3.filter((r) => S3_PUT_TIER.test(r.operation)).length;
  const s3Free = s3.filter((r) => S3_FREE.test(r.operation)).length;
  const s3Get = s3.length - s3Put - s3Free;
  const s3Dollars =
    (s3Put / 1000) * LIST_PRICES.s3_put_per_thousand + (s3Get / 1000) * LIST_PRICES.s3_get_per_thousand;

  const fnNames = [...new Set(input.invocations.map((i) => i.fn))].sort();
  const functions = fnNames.map((fn): LambdaFunctionFigures => {
    const list = input.invocations.filter((i) => i.fn === fn);
    const memoryMb = input.memoryMb[fn] ?? 1024;
    const stretch = Math.max(1, LAMBDA_MB_PER_VCPU / memoryMb);
    // Lambda bills each invocation's duration rounded up to the millisecond.
    const wallSeconds = list.reduce((sum, i) => sum + Math.ceil(i.wallMs), 0) / 1000;
    const cpuSeconds = list.reduce((sum, i) => sum + i.cpuMs, 0) / 1000;
    const cpuBilledSeconds = list.reduce((sum, i) => sum + Math.ceil(i.cpuMs * stretch), 0) / 1000;
    return {
      fn,
      memoryMb,
      invocations: list.length,
      failed: list.filter((i) => i.failed).length,
      records: list.reduce((sum, i) => sum + i.records, 0),
      wallSeconds,
      cpuSeconds,
      cpuBilledSeconds,
      gbSecondsWall: (wallSeconds * memoryMb) / 1024,
      gbSecondsCpu: (cpuBilledSeconds * memoryMb) / 1024,
    };
  });
  const invocations = input.invocations.length;
  const gbSecondsWall = functions.reduce((sum, f) => sum + f.gbSecondsWall, 0);
  const gbSecondsCpu = functions.reduce((sum, f) => sum + f.gbSecondsCpu, 0);
  const lambda: LambdaCost = {
    functions,
    invocations,
    requestDollars: (invocations / PER) * LIST_PRICES.lambda_per_million_requests,
    gbSecondsWall,
    gbSecondsCpu,
    durationDollarsWall: gbSecondsWall * LIST_PRICES.lambda_arm_per_gb_second,
    durationDollarsCpu: gbSecondsCpu * LIST_PRICES.lambda_arm_per_gb_second,
  };

  const service = (
    name: string,
    requests: number,
    unitsOf: Record<string, number>,
    dollars: number,
    notes: string[] = [],
  ): ServiceCost => ({
    service: name,
    requests,
    requestsPerChunk: requests / chunks,
    units: unitsOf,
    dollars,
    dollarsPerMillionChunks: perM(dollars),
    notes,
  });
  const services = [
    service('SQS', sqs.length, { 'billed 64 KB units': sqsBilled }, sqsDollars),
    service(
      'DynamoDB',
      dataPlane.length,
      { WRU: units.wru, RRU: units.rru },
      dynamoDollars,
      dynamoRecords.length > dataPlane.length
        ? [`${dynamoRecords.length - dataPlane.length} control-plane requests (free)`]
        : [],
    ),
    service('DynamoDB Streams', streams.length, { 'free (Lambda trigger)': streams.length }, 0, [
      'GetRecords etc. by a Lambda trigger are not billed',
    ]),
    service(
      'S3',
      s3.length,
      { 'PUT/COPY/POST/LIST': s3Put, 'GET and other': s3Get, 'DELETE (free)': s3Free },
      s3Dollars,
    ),
    service('Lambda requests', invocations, { invocations }, lambda.requestDollars),
    service('Lambda duration (CPU basis)', 0, { 'GB-s': gbSecondsCpu }, lambda.durationDollarsCpu),
    service('Lambda duration (wall basis)', 0, { 'GB-s': gbSecondsWall }, lambda.durationDollarsWall),
  ];
  const base = sqsDollars + dynamoDollars + s3Dollars + lambda.requestDollars;
  const cpuTotal = base + lambda.durationDollarsCpu;
  const wallTotal = base + lambda.durationDollarsWall;
  const sizes = input.taskItemSizes;
  return {
    chunks,
    operations: countOperations(records),
    services,
    lambda,
    dynamo: {
      wru: units.wru,
      rru: units.rru,
      sizedFromFinal: units.sizedFromFinal,
      taskItemBytes: { min: Math.min(...sizes), max: Math.max(...sizes) },
    },
    totals: {
      cpuBasis: { dollars: cpuTotal, dollarsPerMillionChunks: perM(cpuTotal) },
      wallBasis: { dollars: wallTotal, dollarsPerMillionChunks: perM(wallTotal) },
    },
  };
};
