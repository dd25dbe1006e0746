import type { Prices } from './prices.ts';

/** The clouds a target is modelled as: where its tries run and what they are billed. */
export const Cloud = { aws: 'aws', gcp: 'gcp' } as const;
export type Cloud = (typeof Cloud)[keyof typeof Cloud];

/** What a target's tries used, summed over them: what the stats count per target. */
export interface TryUsage {
  tries: number;
  /** Bytes of the chunks the tries read: each try reads its chunk. */
  bytesIn: number;
  /** Bytes of the outputs the tries wrote (a try that failed writes none). */
  bytesOut: number;
  /** Time the tries' pipelines ran. */
  durationMs: number;
}

/**
 * Requests one try makes on AWS (SQS -> Lambda), on average: the counts of `npm run bench:cost`
 * (bench/results/cost.json, 1,500 tries of 64 KiB in 6 jobs, batches of up to 100 records). Messages
 * carry a pointer to the chunk in S3, not the chunk, so a request is one SQS unit whatever the chunk size.
 */
export const AWS_REQUESTS_PER_TRY = {
  /** Sends (batches of 10), receives with messages, empty receives, deletes: 507 / 1,500. */
  sqs: 0.338,
  /** Processor invocations: 35 batches / 1,500. */
  invocations: 0.0233,
  /** The try recorded whole in one conditional write at its end: a task item of 552-560 B. */
  dynamoWru: 1,
  /** The job's cancel check per batch and its segments' queries: 71 RRU / 1,500. */
  dynamoRru: 0.047,
  /** One result object per batch: 35 / 1,500. */
  s3Puts: 0.0233,
  /** Ranged reads of input segments: 39 / 1,500. */
  s3Gets: 0.026,
} as const;

/**
 * Requests one try makes on Google Cloud (Pub/Sub push -> Cloud Run function): each push carries one
 * message and is one invocation, which reads its chunk from S3, writes its output as one object and
 * records its try in the AWS table. Counted by `npm run bench:cost` on the Pub/Sub emulator
 * (bench/results/cost.json, `gcp`).
 */
export const GCP_REQUESTS_PER_TRY = {
  /** Billed publish bytes: the message (body, attributes, timestamp, id), publish requests carrying many. */
  pubsubPublishBytes: 280,
  /** A push request carries one message: billed at Pub/Sub's 1,000-byte minimum. */
  pubsubDeliveryBytes: 1000,
  invocations: 1,
  /**
   * One conditional write at the try's end. The emulator's push carries no delivery count, so there
   * every delivery claims first and finishes after (2 writes); a deployed subscription with a
   * dead-letter policy has the count.
   */
  dynamoWru: 1,
  /** The job's cancel check (a strongly consistent read of the job item) per invocation. */
  dynamoRru: 1,
  s3Puts: 1,
  s3Gets: 1,
} as const;

/** The processor functions as deployed (`defineResources`, `defineGcpResources`): 1,024 MB each. */
export const FUNCTION_SIZE = {
  lambdaGb: 1,
  cloudRunGib: 1,
  /** What Cloud Run functions give 1 GiB when no CPU is set. */
  cloudRunVcpu: 0.583,
  /** Cloud Run bills an instance's time rounded up to 100 ms; one delivery at a time per instance. */
  cloudRunMinMsPerTry: 100,
} as const;

/**
 * How fast a try's pipeline is assumed to run when `cheapest` routes a chunk not yet run: the
 * processor's CPU time in the cost bench (98.2 MB through validate, transform, compress in 3.15 s).
 */
export const MODELLED_BYTES_PER_MS = 31_000;

const MILLION = 1e6;
const GB = 1e9;
const GIB = 2 ** 30;
const TIB = 2 ** 40;

/** What a target's tries cost, line by line, in USD. */
export type CostLines = Record<string, number>;

const awsLines = (u: TryUsage, p: Prices): CostLines => {
  const r = AWS_REQUESTS_PER_TRY;
  return {
    sqs: (u.tries * r.sqs * p.sqs_per_million_requests) / MILLION,
    lambdaRequests: (u.tries * r.invocations * p.lambda_per_million_requests) / MILLION,
    lambdaDuration: (u.durationMs / 1000) * FUNCTION_SIZE.lambdaGb * p.lambda_arm_per_gb_second,
    dynamodb:
      (u.tries * (r.dynamoWru * p.dynamodb_per_million_wru + r.dynamoRru * p.dynamodb_per_million_rru)) /
      MILLION,
    s3: (u.tries * (r.s3Puts * p.s3_put_per_thousand + r.s3Gets * p.s3_get_per_thousand)) / 1000,
  };
};

const gcpLines = (u: TryUsage, p: Prices): CostLines => {
  const r = GCP_REQUESTS_PER_TRY;
  const billedSeconds = Math.max(u.durationMs, u.tries * FUNCTION_SIZE.cloudRunMinMsPerTry) / 1000;
  return {
    pubsub: (u.tries * (r.pubsubPublishBytes + r.pubsubDeliveryBytes) * p.pubsub_per_tib) / TIB,
    cloudRunRequests: (u.tries * r.invocations * p.cloud_run_per_million_requests) / MILLION,
    cloudRunDuration:
      billedSeconds *
      (FUNCTION_SIZE.cloudRunVcpu * p.cloud_run_per_vcpu_second +
        FUNCTION_SIZE.cloudRunGib * p.cloud_run_per_gib_second),
    dynamodb:
      (u.tries * (r.dynamoWru * p.dynamodb_per_million_wru + r.dynamoRru * p.dynamodb_per_million_rru)) /
      MILLION,
    s3: (u.tries * (r.s3Puts * p.s3_put_per_thousand + r.s3Gets * p.s3_get_per_thousand)) / 1000,
    // The chunk leaves AWS for the function; the output leaves Google Cloud for the bucket.
    awsEgress: (u.bytesIn * p.aws_internet_egress_per_gb) / GB,
    gcpEgress: (u.bytesOut * p.gcp_internet_egress_per_gib) / GIB,
  };
};

/** The modelled cost of a target's tries on `cloud`, line by line. */
export const costLines = (cloud: Cloud, usage: TryUsage, prices: Prices): CostLines =>
  cloud === Cloud.aws ? awsLines(usage, prices) : gcpLines(usage, prices);

/** The modelled cost of a target's tries on `cloud`, in USD. */
export const costUsd = (cloud: Cloud, usage: TryUsage, prices: Prices): number =>
  Object.values(costLines(cloud, usage, prices)).reduce((sum, usd) => sum + usd, 0);

/**
 * What one try of a chunk of `bytes` is modelled to cost on `cloud` before it runs: its output taken
 * as large as its input, its run time at {@link MODELLED_BYTES_PER_MS}. What `cheapest` compares.
 */
export const tryCostUsd = (cloud: Cloud, bytes: number, prices: Prices): number =>
  costUsd(
    cloud,
    { tries: 1, bytesIn: bytes, bytesOut: bytes, durationMs: bytes / MODELLED_BYTES_PER_MS },
    prices,
  );
