import { z } from 'zod';
import { DEFAULT_BREAKER } from '../core/breaker.ts';
import {
  ChunkingMode,
  DEFAULT_JOB_TTL_SECONDS,
  KiB,
  LIMITS,
  MiB,
  PRIORITIES,
  Priority,
  Strategy,
} from '../core/constants.ts';
import { Cloud } from '../core/cost/model.ts';
import { LIST_PRICES, PRICE_KEYS, PRICE_TABLE, type Prices } from '../core/cost/prices.ts';
import { DEFAULT_GRACE_MS } from '../core/delivery-check.ts';
import { DEFAULT_LANE_SHARES } from '../core/lanes.ts';
import { DEFAULT_RECONCILE } from '../core/reconcile.ts';
import { DEFAULT_RETRY } from '../core/retry.ts';

/**
 * Every setting and its default. The YAML file, the `FANOUT_*` variables and the CLI flags all name
 * these keys; `docs/configuration.md` documents each one.
 */
export const DEFAULTS = {
  pipeline: 'validate,transform:normalize',
  steps: [] as string[],
  chunking: { mode: ChunkingMode.lines as ChunkingMode, size: 64 * KiB },
  targets: ['aws', 'gcp'],
  workers_per_target: 4,
  threads: 0,
  weights: {} as Record<string, number>,
  balancer: { strategy: Strategy.leastLoaded as Strategy, rebalance_threshold: 0.3 },
  priority: { default: Priority.medium as Priority, shares: { ...DEFAULT_LANE_SHARES } },
  breaker: {
    failure_threshold: DEFAULT_BREAKER.failureThreshold,
    reset_timeout_ms: DEFAULT_BREAKER.resetTimeoutMs,
    half_open_probes: DEFAULT_BREAKER.halfOpenProbes,
  },
  retry: {
    max_attempts: DEFAULT_RETRY.maxAttempts,
    base_delay_ms: DEFAULT_RETRY.baseDelayMs,
    factor: DEFAULT_RETRY.factor,
    max_delay_ms: DEFAULT_RETRY.maxDelayMs,
    redistribute: DEFAULT_RETRY.redistribute,
  },
  delivery: { grace_ms: DEFAULT_GRACE_MS },
  reconcile: {
    interval_ms: DEFAULT_RECONCILE.intervalMs,
    stranded_after_ms: DEFAULT_RECONCILE.strandedAfterMs,
    breaker_open_ms: DEFAULT_RECONCILE.breakerOpenMs,
    ingest_stalled_ms: DEFAULT_RECONCILE.ingestStalledMs,
  },
  max_pending_chunks: 1024,
  max_pending_bytes: 16 * MiB,
  step_stop_grace_ms: 1000,
  shutdown_grace_ms: 5000,
  results_dir: '.fanout/results',
  jobs: { ttl_seconds: DEFAULT_JOB_TTL_SECONDS },
  server: {
    data_dir: '.fanout/data',
    host: '127.0.0.1',
    port: 3000,
    max_body_bytes: 256 * MiB,
    max_ingesting_jobs: 4,
    allowed_origins: [] as string[],
    allowed_hosts: [] as string[],
    headers_timeout_ms: 10_000,
    request_timeout_ms: 300_000,
    min_upload_bytes_per_second: 16 * KiB,
    upload_grace_ms: 10_000,
  },
  client: { endpoint: '', auth: 'none' as ClientAuth },
  notify: { webhook_secret: '', webhook_attempts: 5, progress_interval_ms: 5000 },
  cost: {
    prices: LIST_PRICES as Prices,
    target_clouds: { aws: Cloud.aws, gcp: Cloud.gcp } as Record<string, Cloud>,
  },
};

/** How the CLI's client commands authenticate to an endpoint: not at all, or AWS SigV4 (IAM). */
export type ClientAuth = 'none' | 'sigv4';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const laneShare = z.number().int().min(1).max(98);
/** Each lane's share of a target's slots, in whole percent: the config's `priority.shares`, the deploy's lanes. */
export const laneShares = z
  .strictObject({ high: laneShare, medium: laneShare, low: laneShare })
  .refine(
    (shares) => PRIORITIES.reduce((sum, lane) => sum + shares[lane], 0) === 100,
    'the shares of high, medium and low must sum to 100',
  );
/** The name of a target, in the configuration and in the cloud resources named after it. */
export const targetName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a target name is lowercase letters, digits and -');

/** A pipeline step written out in the config file instead of in a spec string. */
const StepConfig = z.strictObject({
  step: z.string().min(1),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  enabled: z.boolean().default(true),
  timeout_ms: positiveInt.max(LIMITS.maxStepTimeoutMs).optional(),
});

const price = z
  .number('a price is a number of US dollars')
  .nonnegative('a price is a number of US dollars, 0 or more');

/** Settings that map names to values: one variable each, written `name=value,…`, replacing the whole map. */
export const MAP_SETTINGS: ReadonlySet<string> = new Set(['weights', 'cost.target_clouds']);

export const ConfigSchema = z
  .strictObject({
    pipeline: z.union([z.string(), z.array(StepConfig)]),
    steps: z.array(z.string().min(1)),
    chunking: z.strictObject({
      mode: z.enum(ChunkingMode),
      size: z.number().int().min(LIMITS.minChunkSize).max(LIMITS.maxChunkSize),
    }),
    targets: z
      .array(targetName)
      .min(1)
      .refine((names) => new Set(names).size === names.length, 'target names must be unique'),
    workers_per_target: positiveInt.max(64),
    threads: nonNegativeInt.max(64),
    weights: z.record(targetName, z.number().positive()),
    balancer: z.strictObject({
      strategy: z.enum(Strategy),
      rebalance_threshold: z.number().min(0),
    }),
    priority: z.strictObject({
      default: z
        .enum(Priority)
        .describe('The lane of a job that names none (`?priority=`, `--priority`): high, medium or low.'),
      shares: laneShares.describe(
        "Each lane's share of a target's slots, in percent: on the engine the least a lane with work waiting gets (higher lanes take the rest); on the cloud each lane's part of the processor's concurrency.",
      ),
    }),
    breaker: z.strictObject({
      failure_threshold: positiveInt,
      reset_timeout_ms: positiveInt,
      half_open_probes: positiveInt,
    }),
    retry: z.strictObject({
      max_attempts: positiveInt.max(LIMITS.maxAttempts),
      base_delay_ms: nonNegativeInt,
      factor: z.number().min(1),
      max_delay_ms: nonNegativeInt,
      redistribute: z.boolean(),
    }),
    delivery: z.strictObject({ grace_ms: positiveInt }),
    reconcile: z.strictObject({
      interval_ms: positiveInt,
      stranded_after_ms: positiveInt,
      breaker_open_ms: positiveInt,
      ingest_stalled_ms: positiveInt,
    }),
    max_pending_chunks: positiveInt,
    max_pending_bytes: positiveInt,
    step_stop_grace_ms: nonNegativeInt,
    shutdown_grace_ms: nonNegativeInt,
    results_dir: z.string().min(1),
    jobs: z.strictObject({ ttl_seconds: positiveInt }),
    server: z.strictObject({
      data_dir: z.string().min(1),
      host: z.string().min(1),
      port: z.number().int().min(0).max(65535),
      max_body_bytes: positiveInt,
      max_ingesting_jobs: positiveInt,
      allowed_origins: z.array(
        z
          .string()
          .regex(/^https?:\/\/[^/?#\s]+$/, 'an origin is scheme://host[:port], no path: https://app.example'),
      ),
      allowed_hosts: z.array(z.string().regex(/^[^\s/:]+$/, 'a host name, without port or path')),
      headers_timeout_ms: positiveInt,
      request_timeout_ms: nonNegativeInt,
      min_upload_bytes_per_second: nonNegativeInt,
      upload_grace_ms: nonNegativeInt,
    }),
    client: z.strictObject({
      endpoint: z
        .string()
        .regex(/^(https?:\/\/[^\s?#]+)?$/, 'an endpoint is an http(s) URL, e.g. http://127.0.0.1:3000'),
      auth: z.enum(['none', 'sigv4']),
    }),
    notify: z.strictObject({
      webhook_secret: z
        .string()
        .regex(
          /^(whsec_[A-Za-z0-9+/]{22,}={0,2})?$/,
          'a Standard Webhooks secret: whsec_ and base64 of 16+ bytes',
        )
        .describe(
          'The secret `callbackUrl` webhooks are signed with (Standard Webhooks: `whsec_` and base64 of 16 to 64 random bytes); a job with `callbackUrl` is refused while it is empty. Keep it out of files: set `FANOUT_NOTIFY_WEBHOOK_SECRET`.',
        ),
      webhook_attempts: positiveInt
        .max(10)
        .describe('Tries of one webhook, 1 s, 2 s, 4 s, … apart, before it is given up (logged).'),
      progress_interval_ms: positiveInt.describe(
        'With `?notify=progress`: the least time between two progress webhooks of a job.',
      ),
    }),
    cost: z.strictObject({
      prices: z.strictObject(
        Object.fromEntries(
          PRICE_KEYS.map((key) => [
            key,
            price.describe(`USD per ${PRICE_TABLE[key].unit} ([list price](cost.md#prices)).`),
          ]),
        ) as Record<keyof Prices, typeof price>,
      ),
      target_clouds: z
        .record(targetName, z.enum(Cloud))
        .describe(
          "Embedded: the cloud (`aws` or `gcp`) each target is priced as; every target needs one. The cloud path takes it from each target's queue.",
        ),
    }),
  })
  .superRefine((config, context) => {
    for (const target of config.targets) {
      if (config.cost.target_clouds[target] === undefined)
        context.addIssue({
          code: 'custom',
          path: ['cost', 'target_clouds', target],
          message: `target ${target} has no cloud to be priced as: set it to aws or gcp`,
        });
    }
  });

export type Config = z.output<typeof ConfigSchema>;
