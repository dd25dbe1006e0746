// The shapes of a deployment's resources, by name and limit: what `defineResources` returns, the CDK
// stack and the local emulators build.
import type { Lanes } from '../core/lanes.ts';

/** The task table: jobs, tasks, summaries and stats in one table (see `DynamoTaskStore`). */
export interface TableDefinition {
  /** @default `${prefix}-tasks` */
  name: string;
  /** String partition key. @default 'pk' */
  partitionKey: 'pk';
  /** String sort key. @default 'sk' */
  sortKey: 'sk';
  /** Epoch-seconds attribute DynamoDB's TTL deletes items by. @default 'expiresAt' */
  ttlAttribute: 'expiresAt';
  /** The stats function needs both images to count a transition exactly once. @default 'NEW_AND_OLD_IMAGES' */
  streamView: 'NEW_AND_OLD_IMAGES';
  /** The index `GET /jobs` queries, newest first: only job items carry its keys. */
  jobsIndex: JobsIndexDefinition;
}

/** A global secondary index over the job items, all under one partition, sorted by creation. */
export interface JobsIndexDefinition {
  /** @default 'jobs-by-created' */
  name: 'jobs-by-created';
  /** String partition key, the same on every job item. @default 'listPk' */
  partitionKey: 'listPk';
  /** String sort key: the creation time, zero-padded, then the job id. @default 'listSk' */
  sortKey: 'listSk';
}

/** The data bucket: packed input segments and packed batch outputs. */
export interface BucketDefinition {
  /** Bucket names are global; deployments that share an account and region need distinct prefixes. @default `${prefix}-data` */
  name: string;
  /** @default 'inputs/' */
  inputsPrefix: 'inputs/';
  /** @default 'results/' */
  resultsPrefix: 'results/';
  /** Where large inputs are uploaded for `POST /jobs` with `{"source": "s3://bucket/uploads/…"}`. @default 'uploads/' */
  uploadsPrefix: 'uploads/';
  /** A lifecycle rule deletes uploads (and anything outside the job prefixes) this many days after they were written. @default 7 */
  expireAfterDays: number;
  /**
   * A lifecycle rule deletes the objects under `inputsPrefix` and `resultsPrefix` this many days after
   * they were written: `jobTtlSeconds` rounded up to whole days (S3 counts in days). @default 1
   */
  jobDataExpireAfterDays: number;
  /** The bucket that receives the data bucket's server access logs. @default `${prefix}-access-logs` */
  accessLogsName: string;
}

/**
 * A lane's SQS queue on one AWS target, and the processor's event source mapping from it: each lane has
 * its own maximum concurrency, so a backlog in one lane cannot take the others' slots.
 */
export interface LaneQueueDefinition {
  /** @default `${prefix}-${target}-${lane}` */
  name: string;
  /**
   * The mapping's maximum concurrency: the lane's share (`laneShares`, `priority.shares`) of
   * `maxConcurrentTasks`, in whole instances that sum to it; SQS allows 2 to 1000.
   * @default 12, 6 and 2 (60/30/10 of 20)
   */
  maxConcurrency: number;
}

/** The queues of one AWS target: one a lane, all redriving to the target's dead-letter queue. */
export interface QueueDefinition {
  /** The target name the balancer routes by. */
  target: string;
  /** A queue a lane, with its mapping's concurrency. */
  lanes: Lanes<LaneQueueDefinition>;
  /** @default `${prefix}-${target}-dlq` */
  deadLetterName: string;
  /** The function that consumes the queue; its role has the same name. @default `${prefix}-process-${target}` */
  processorName: string;
  /** Six times the processor timeout, as AWS advises for a queue that feeds a Lambda function. @default 360 */
  visibilityTimeoutSeconds: number;
  /** Deliveries before the redrive policy moves a message to the dead-letter queue. @default 5 */
  maxReceiveCount: number;
  /** @default 345600 (4 days, SQS's own default) */
  messageRetentionSeconds: number;
  /**
   * Longer than the source queue's: a standard queue keeps a message's original enqueue time when it
   * moves it, so a shorter retention here could drop a dead letter as soon as it arrives.
   * @default 1209600 (14 days, the most SQS allows)
   */
  deadLetterRetentionSeconds: number;
}

/** The process function and its SQS event source mappings. */
export interface ProcessorDefinition {
  /** @default 60 */
  timeoutSeconds: number;
  /** @default 1024 */
  memoryMb: number;
  /** Records per invocation; above 10 the mapping needs a batching window. @default 100 */
  batchSize: number;
  /** @default 1 */
  maxBatchingWindowSeconds: number;
  /**
   * The function's instances at once across its lanes' mappings: the option `maxConcurrentTasks`, split by
   * `laneShares` into each lane's `maxConcurrency` (see {@link LaneQueueDefinition}). @default 20
   */
  maxConcurrency: number;
  /**
   * A claim's lease: visibility timeout minus function timeout, so a message SQS hands out again after a
   * crash always finds the lease run out (docs/aws.md, "Lease and visibility"). @default 300000
   */
  leaseMs: number;
}

/**
 * The stats function and its DynamoDB stream event source mapping. Each batch costs the same whatever its
 * size: per job in it, two consistent reads and a transaction that puts the job's summary and the overall
 * stats (each 1-2 KB, so about 8 WRU with the transaction's doubling). Large batches keep that a small
 * fraction of the two writes a chunk costs; a job's view lags its tasks by up to the batching window.
 */
export interface StatsDefinition {
  /** @default 1000 */
  batchSize: number;
  /** @default 5 */
  maxBatchingWindowSeconds: number;
  /** Retries of a failed batch before the mapping skips it. @default 3 */
  retryAttempts: number;
}

/** A Lambda function other than the processors (whose settings are in {@link ProcessorDefinition}). */
export interface FunctionDefinition {
  /** The function's name; its role has the same name. */
  name: string;
  memoryMb: number;
  timeoutSeconds: number;
}

/** The functions besides the processors. */
export interface FunctionsDefinition {
  /**
   * Serves the HTTP API. Its timeout stays under API Gateway's 30-second integration limit, so a request
   * the client has given up on is not still enqueueing chunks.
   * @default { name: `${prefix}-ingest`, memoryMb: 1024, timeoutSeconds: 29 }
   */
  ingest: FunctionDefinition;
  /** Reads the table's stream and serves `GET /stats`. @default { name: `${prefix}-stats`, memoryMb: 512, timeoutSeconds: 60 } */
  stats: FunctionDefinition;
  /**
   * Finds stranded tries and dead ingests (see `Reconciler`), run by {@link ReconcileScheduleDefinition}.
   * @default { name: `${prefix}-reconcile`, memoryMb: 512, timeoutSeconds: 120 }
   */
  reconcile: FunctionDefinition;
}

/** The EventBridge Scheduler schedule that runs the reconcile function. */
export interface ReconcileScheduleDefinition {
  /** @default `${prefix}-reconcile` */
  name: string;
  /** EventBridge Scheduler's shortest rate. @default 1 */
  rateMinutes: number;
  /** A run that overlaps the next is pointless: an invocation older than this is dropped. @default 60 */
  maxEventAgeSeconds: number;
}

/**
 * The queue of ingest steps and the function that runs them: each step splits and enqueues a job's input
 * from its checkpoint for as long as its time allows, then sends the next step (see `IngestSteps`).
 */
export interface IngestStepsDefinition {
  /** @default `${prefix}-ingest-steps` */
  queueName: string;
  /** @default `${prefix}-ingest-steps-dlq` */
  deadLetterName: string;
  /** The function, and its role. @default `${prefix}-ingest-step` */
  functionName: string;
  /** A step stops at a segment boundary well before it. @default 300 */
  timeoutSeconds: number;
  /** @default 1024 */
  memoryMb: number;
  /**
   * Six times the function's timeout, as for the processors: a step is handed out again only once the
   * one that took it has surely stopped. @default 1800
   */
  visibilityTimeoutSeconds: number;
  /** Deliveries of a step that keeps failing before it is moved to the dead-letter queue. @default 5 */
  maxReceiveCount: number;
  /** @default 345600 (4 days) */
  messageRetentionSeconds: number;
  /** @default 1209600 (14 days) */
  deadLetterRetentionSeconds: number;
  /** Steps running at once, across jobs: the mapping's maximum concurrency (`maxConcurrentTasks`). @default 20 */
  maxConcurrency: number;
}

/** Where the stats stream mapping sends what of a batch it gave up on (after its retries, bisected). */
export interface StreamFailuresDefinition {
  /** @default `${prefix}-stats-failures` */
  queueName: string;
  /** @default 1209600 (14 days, the most SQS allows) */
  retentionSeconds: number;
}

/** The HTTP API in front of the ingest and stats functions. */
export interface ApiDefinition {
  /** @default `${prefix}-api` */
  name: string;
  /** Steady requests per second across the API. @default 50 */
  throttleRateLimit: number;
  /** @default 100 */
  throttleBurstLimit: number;
}

/** The thresholds of the deployment's alarms; each alarm is evaluated over one period. */
export interface AlarmsDefinition {
  /** @default 300 */
  periodSeconds: number;
  /** Messages in a dead-letter queue (or the stream's failure queue) that raise the alarm. @default 1 */
  deadLetterMessages: number;
  /** Share of a function's invocations that failed, in percent. @default 5 */
  errorRatePercent: number;
  /** Age of the oldest message in a processor's queue (each lane's). @default 900 */
  oldestMessageAgeSeconds: number;
  /** Throttled invocations of a function. @default 1 */
  throttles: number;
}

/** Logs, metrics and alarms. */
export interface ObservabilityDefinition {
  /** How long the functions' and the API's logs are kept. @default 30 */
  logRetentionDays: number;
  /** The Powertools metrics namespace the functions publish to (through embedded metric format logs). @default 'Fanout' */
  metricsNamespace: string;
  /** @default prefix */
  dashboardName: string;
  alarms: AlarmsDefinition;
}

/** The identities that cross between the clouds without keys. */
export interface FederationDefinition {
  /** The role the Google function assumes with a Google ID token (web identity federation). @default `${prefix}-from-gcp` */
  roleName: string;
  /** The audience of that ID token, which the role's trust policy requires. @default `${prefix}-aws-web-identity` */
  audience: string;
  /**
   * The roles of the functions that publish to Pub/Sub (ingest, the ingest step, reconcile and the
   * processors): the Google workload
   * identity provider admits only these.
   */
  publisherRoleNames: string[];
}

/** Every AWS resource of one deployment, by name and limit: what the CDK stack and the local emulators build. */
export interface Resources {
  /** @default 'fanout' */
  prefix: string;
  table: TableDefinition;
  bucket: BucketDefinition;
  /** One per AWS target, in the order given. @default one queue, for target 'aws' */
  queues: QueueDefinition[];
  processor: ProcessorDefinition;
  stats: StatsDefinition;
  functions: FunctionsDefinition;
  ingestSteps: IngestStepsDefinition;
  streamFailures: StreamFailuresDefinition;
  reconcileSchedule: ReconcileScheduleDefinition;
  api: ApiDefinition;
  observability: ObservabilityDefinition;
  federation: FederationDefinition;
  /**
   * `jobs.ttl_seconds`: how long job, task and stats items live after their last write (a job's own item
   * and summary: after it ends). @default DEFAULT_JOB_TTL_SECONDS (3600, one hour)
   */
  jobTtlSeconds: number;
  /**
   * The EventBridge bus the stats function puts each job's end on (`source: fanout`).
   * @default 'default', the account's default bus
   */
  jobEventsBus: string;
}
