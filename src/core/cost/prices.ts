/**
 * The public list prices the cost model is built on, in USD, us-east-1 (AWS) and Tier 1 regions
 * (Google Cloud), without free tiers or volume discounts. One table for every runtime and the cost bench;
 * a deployment overrides any of them with `cost.prices.<key>` (see docs/cost.md).
 */
export const PRICES_READ_ON = '2026-12-07';

export const PRICE_TABLE = {
  sqs_per_million_requests: {
    usd: 0.4,
    unit: 'million standard-queue requests; each 64 KiB of a request is billed as one',
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
  pubsub_per_tib: {
    usd: 40,
    unit: 'TiB of throughput, publish and delivery each; at least 1,000 bytes per publish, push or pull request',
    source: 'https://cloud.google.com/pubsub/pricing',
  },
  dynamodb_per_million_wru: {
    usd: 0.625,
    unit: 'million on-demand write request units (1 KB each)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamodb_per_million_rru: {
    usd: 0.125,
    unit: 'million on-demand read request units (4 KB strongly consistent each)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  s3_put_per_thousand: {
    usd: 0.005,
    unit: 'thousand S3 Standard PUT, COPY, POST or LIST requests',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  s3_get_per_thousand: {
    usd: 0.0004,
    unit: 'thousand S3 Standard GET and other requests',
    source: 'https://aws.amazon.com/s3/pricing/',
  },
  lambda_per_million_requests: {
    usd: 0.2,
    unit: 'million Lambda invocations',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  lambda_arm_per_gb_second: {
    usd: 0.0000133334,
    unit: 'GB-second of an arm64 Lambda function (first 7.5 billion a month)',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  cloud_run_per_million_requests: {
    usd: 0.4,
    unit: 'million Cloud Run functions requests',
    source: 'https://cloud.google.com/run/pricing',
  },
  cloud_run_per_vcpu_second: {
    usd: 0.000024,
    unit: 'vCPU-second, CPU allocated during requests only, Tier 1',
    source: 'https://cloud.google.com/run/pricing',
  },
  cloud_run_per_gib_second: {
    usd: 0.0000025,
    unit: 'GiB-second, CPU allocated during requests only, Tier 1',
    source: 'https://cloud.google.com/run/pricing',
  },
  aws_internet_egress_per_gb: {
    usd: 0.09,
    unit: 'GB out of AWS to the internet (first 10 TB a month): a chunk a Google function reads from S3',
    source: 'https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer',
  },
  gcp_internet_egress_per_gib: {
    usd: 0.12,
    unit: 'GiB out of Google Cloud to the internet, Premium Tier (first TiB a month): an output written to S3',
    source: 'https://cloud.google.com/vpc/network-pricing',
  },
} as const;

export type PriceKey = keyof typeof PRICE_TABLE;

/** A price for each key, in USD per the table's unit. */
export type Prices = Readonly<Record<PriceKey, number>>;

export const PRICE_KEYS = Object.keys(PRICE_TABLE) as PriceKey[];

/** The table's list prices: the defaults of the settings `cost.prices.<key>`. */
export const LIST_PRICES: Prices = Object.fromEntries(
  PRICE_KEYS.map((key) => [key, PRICE_TABLE[key].usd]),
) as Record<PriceKey, number>;
