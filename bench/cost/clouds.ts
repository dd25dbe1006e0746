import { PubSub } from '@google-cloud/pubsub';
import { Cloud, costUsd, tryCostUsd } from '../../src/core/cost/model.ts';
import { LIST_PRICES } from '../../src/core/cost/prices.ts';
import { dynamoUnits, isDataOperation } from './dynamo-units.ts';
import { PER, sqsUnits } from './model.ts';
import { type RequestRecord, Service } from './proxy.ts';

/** Pub/Sub bills at least this much per publish, push or pull request. */
const PUBSUB_MIN_REQUEST_BYTES = 1000;
/** A message id on Pub/Sub is 16-17 digits; the emulator's are shorter. */
const MESSAGE_ID_BYTES = 17;
const TIMESTAMP_BYTES = 20;

export interface PublishCount {
  requests: number;
  messages: number;
  /** What Pub/Sub bills: each request's messages (data, attributes, timestamp, id), at least 1,000 B. */
  billedBytes: number;
}

/**
 * Counts the publish requests the Pub/Sub client sends to topics `counts` names, by wrapping the client's
 * one way to the API (`PubSub.request`): one call per publish RPC, with the batch of messages it carries.
 */
export class PubSubMeter {
  phase = 'setup';
  readonly #counts = new Map<string, PublishCount>();

  install(topicOf: (topic: string) => boolean): void {
    const original = PubSub.prototype.request;
    const meter = this;
    PubSub.prototype.request = function (this: PubSub, config, callback) {
      const { method, reqOpts } = config as {
        method: string;
        reqOpts?: { topic?: string; messages?: unknown[] };
      };
      if (method === 'publish' && topicOf(String(reqOpts?.topic ?? ''))) {
        const messages = (reqOpts?.messages ?? []) as {
          data?: Uint8Array;
          attributes?: Record<string, string>;
        }[];
        const bytes = messages.reduce(
          (sum, m) =>
            sum +
            (m.data?.byteLength ?? 0) +
            Object.entries(m.attributes ?? {}).reduce(
              (s, [k, v]) => s + Buffer.byteLength(k) + Buffer.byteLength(v),
              0,
            ) +
            TIMESTAMP_BYTES +
            MESSAGE_ID_BYTES,
          0,
        );
        const count = meter.count(meter.phase);
        count.requests++;
        count.messages += messages.length;
        count.billedBytes += Math.max(PUBSUB_MIN_REQUEST_BYTES, bytes);
      }
      return (original as (...args: unknown[]) => void).call(this, config, callback);
    } as typeof original;
  }

  count(phase: string): PublishCount {
    let count = this.#counts.get(phase);
    if (count === undefined) {
      count = { requests: 0, messages: 0, billedBytes: 0 };
      this.#counts.set(phase, count);
    }
    return count;
  }
}

/** What a phase of the run counted, per chunk, for the side-by-side figures. */
export interface CloudCounts {
  cloud: Cloud;
  chunks: number;
  sqsUnits: number;
  wru: number;
  rru: number;
  s3Puts: number;
  s3Gets: number;
  lambdaInvocations: number;
  /** Lambda GB-s of the handlers on the CPU basis (see the AWS section). */
  lambdaGbSeconds: number;
  publishBytes: number;
  pushes: number;
  /** Cloud Run billed seconds: each push at least 100 ms. */
  cloudRunSeconds: number;
  bytesIn: number;
  bytesOut: number;
}

const S3_PUT = /^(PutObject|CopyObject|UploadPart|CreateMultipartUpload|CompleteMultipartUpload|ListObjects)/;
const S3_FREE = /^(DeleteObject|DeleteObjects|AbortMultipartUpload)$/;

/** The AWS requests of a phase: SQS units, DynamoDB units, S3 requests by tier. */
export const awsCounts = (records: readonly RequestRecord[], finalSizes: ReadonlyMap<string, number>) => {
  const of = (service: Service) => records.filter((r) => r.service === service);
  const dynamo = of(Service.dynamodb).filter((r) => isDataOperation(r.operation));
  const units = dynamoUnits(
    dynamo.map((r) => ({
      operation: r.operation,
      status: r.status,
      request: r.dynamo?.request,
      response: r.dynamo?.response,
    })),
    finalSizes,
  );
  const s3 = of(Service.s3);
  const s3Puts = s3.filter((r) => S3_PUT.test(r.operation)).length;
  const s3Free = s3.filter((r) => S3_FREE.test(r.operation)).length;
  return {
    sqsUnits: of(Service.sqs).reduce((sum, r) => sum + sqsUnits(r.sqsPayloadBytes ?? 0), 0),
    wru: units.wru,
    rru: units.rru,
    s3Puts,
    s3Gets: s3.length - s3Puts - s3Free,
  };
};

/** Dollars per million chunks of a phase, line by line, at the list prices. */
export const dollarsPerMillion = (c: CloudCounts): Record<string, number> => {
  const p = LIST_PRICES;
  const perM = (usd: number) => (usd / c.chunks) * PER;
  return {
    SQS: perM((c.sqsUnits * p.sqs_per_million_requests) / 1e6),
    'Pub/Sub': perM((c.publishBytes + c.pushes * PUBSUB_MIN_REQUEST_BYTES) * (p.pubsub_per_tib / 2 ** 40)),
    DynamoDB: perM((c.wru * p.dynamodb_per_million_wru + c.rru * p.dynamodb_per_million_rru) / 1e6),
    S3: perM((c.s3Puts * p.s3_put_per_thousand + c.s3Gets * p.s3_get_per_thousand) / 1000),
    Lambda: perM(
      (c.lambdaInvocations * p.lambda_per_million_requests) / 1e6 +
        c.lambdaGbSeconds * p.lambda_arm_per_gb_second,
    ),
    'Cloud Run functions': perM(
      (c.pushes * p.cloud_run_per_million_requests) / 1e6 +
        c.cloudRunSeconds * (0.583 * p.cloud_run_per_vcpu_second + 1 * p.cloud_run_per_gib_second),
    ),
    'egress (AWS → internet, Google → internet)': perM(
      c.cloud === Cloud.gcp
        ? (c.bytesIn * p.aws_internet_egress_per_gb) / 1e9 +
            (c.bytesOut * p.gcp_internet_egress_per_gib) / 2 ** 30
        : 0,
    ),
  };
};

export interface RoutedJob {
  strategy: string;
  chunkSize: number;
  chunks: number;
  /** Completed chunks by target. */
  completed: Record<string, number>;
  /** The job's `costUsd` as its stats report it. */
  costUsd: number;
}

export interface RoutingVerdict {
  chunkSize: number;
  modelChoice: Cloud;
  cheapestShare: Record<string, number>;
  matches: boolean;
}

/** For each chunk size: the cloud the model finds cheaper for one try, and whether cheapest sent all there. */
export const routingVerdicts = (jobs: readonly RoutedJob[]): RoutingVerdict[] =>
  jobs
    .filter((j) => j.strategy === 'cheapest')
    .map((j) => {
      const modelChoice =
        tryCostUsd(Cloud.aws, j.chunkSize, LIST_PRICES) <= tryCostUsd(Cloud.gcp, j.chunkSize, LIST_PRICES)
          ? Cloud.aws
          : Cloud.gcp;
      const total = Object.values(j.completed).reduce((a, b) => a + b, 0);
      const cheapestShare = Object.fromEntries(
        [Cloud.aws, Cloud.gcp].map((t) => [t, (j.completed[t] ?? 0) / Math.max(1, total)]),
      );
      return {
        chunkSize: j.chunkSize,
        modelChoice,
        cheapestShare,
        matches: cheapestShare[modelChoice] === 1,
      };
    });

/** The model's cost of one try of a 64 KiB chunk with a 64 KiB output, 2 ms of pipeline: the per-try constants. */
export const modelPerMillion = (cloud: Cloud): number =>
  costUsd(cloud, { tries: 1, bytesIn: 65_536, bytesOut: 65_536, durationMs: 65_536 / 31_000 }, LIST_PRICES) *
  PER;
