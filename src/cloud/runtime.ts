import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoHealthStore } from '../adapters/aws/dynamo-health-store.ts';
import { DynamoIdempotencyStore } from '../adapters/aws/dynamo-idempotency-store.ts';
import { DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { DynamoTaskStore } from '../adapters/aws/dynamo-task-store.ts';
import { S3InputStore } from '../adapters/aws/s3-input-store.ts';
import { S3ResultStore } from '../adapters/aws/s3-result-store.ts';
import { SqsQueue } from '../adapters/aws/sqs-queue.ts';
import { createPubSubClients, type PubSubClients } from '../adapters/gcp/clients.ts';
import { PubSubQueue } from '../adapters/gcp/pubsub-queue.ts';
import { balancerOptions, breakerOptions, retryOptions } from '../config/core-options.ts';
import { type EnvironmentOf, parseFunctionEnvironment } from '../config/function-env.ts';
import { loadConfig } from '../config/load.ts';
import type { QueueAddress } from '../config/queue-address.ts';
import type { Config } from '../config/schema.ts';
import { Balancer } from '../core/balancer.ts';
import { PRIORITIES } from '../core/constants.ts';
import { byLane, type Lanes } from '../core/lanes.ts';
import { StepRegistry } from '../core/pipeline/registry.ts';
import type { Queue } from '../ports/queue.ts';
import { ChunkRecords } from './chunk-records.ts';
import { awsCredentialsFromEnv, googleAuthFromEnv } from './cloud-credentials.ts';
import { CloudJobs } from './cloud-jobs.ts';
import { type IngestStepMessage, IngestSteps } from './ingest-steps.ts';
import { JobPlans } from './job-plans.ts';
import type { ChunkMessage } from './messages.ts';
import { ChunkProcessor, type ProcessorOptions } from './processor.ts';
import { Reconciler, type ReconcilerOptions } from './reconciler.ts';
import { type LaneQueues, Router } from './router.ts';
import { TargetHealth } from './target-health.ts';
import { withWebhookSecret } from './webhook-secret.ts';

/**
 * A publish that takes longer fails, so that a cloud that stopped answering costs a routing decision a
 * few seconds, not the client's minute of retries, and its tries go to the other targets.
 */
const PUBLISH_TIMEOUT_MS = 5000;

/** The functions that run on the cloud runtime; the stats function needs none of it. */
type RuntimeFunction = 'ingest' | 'ingest-step' | 'processor' | 'reconcile';

/**
 * What one function container sees, on either cloud, built once from its environment: the deployment
 * sets the resource names (`TABLE_NAME`, `BUCKET_NAME`, `QUEUES`, …; see `config/function-env.ts`) and
 * `FANOUT_*` settings tune the jobs as everywhere else. The AWS clients take their endpoint from the
 * standard `AWS_ENDPOINT_URL` and the Pub/Sub client from `PUBSUB_EMULATOR_HOST`, so the same code runs
 * against the clouds and the emulators. Credentials across clouds come from federation (see
 * `cloud-credentials.ts`), never from stored keys.
 */
export class CloudRuntime<F extends RuntimeFunction = RuntimeFunction> {
  readonly config: Config;
  /** The function's variables, parsed. */
  readonly environment: EnvironmentOf<F>;
  readonly dynamo: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly tasks: DynamoTaskStore;
  /** The chunks' segments, as the processors read them. */
  readonly inputs: S3ResultStore;
  readonly results: S3ResultStore;
  readonly stats: DynamoStatsStore;
  readonly router: Router;
  /** Each target's breaker, shared by every function. */
  readonly health: DynamoHealthStore;
  readonly #pubsub: PubSubClients | undefined;

  private constructor(
    env: NodeJS.ProcessEnv,
    environment: EnvironmentOf<F>,
    pubsub: PubSubClients | undefined,
  ) {
    const {
      TABLE_NAME,
      BUCKET_NAME,
      QUEUES,
      JOB_TTL_SECONDS,
      AWS_ENDPOINT_URL,
    }: EnvironmentOf<RuntimeFunction> = environment;
    this.environment = environment;
    this.#pubsub = pubsub;
    this.config = loadConfig({ env });
    const credentials = awsCredentialsFromEnv(environment);
    const aws = { ...(credentials !== undefined && { credentials }) };
    this.dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws), {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.sqs = new SQSClient(aws);
    // An emulator serves every bucket under one host name.
    this.s3 = new S3Client({ ...aws, forcePathStyle: AWS_ENDPOINT_URL !== undefined });
    this.tasks = new DynamoTaskStore(this.dynamo, TABLE_NAME, { jobTtlSeconds: JOB_TTL_SECONDS });
    this.inputs = new S3ResultStore(this.s3, BUCKET_NAME, 'inputs/');
    this.results = new S3ResultStore(this.s3, BUCKET_NAME, 'results/');
    this.stats = new DynamoStatsStore(this.dynamo, TABLE_NAME);
    this.health = new DynamoHealthStore(this.dynamo, TABLE_NAME);
    this.router = this.#router(QUEUES, this.health);
  }

  /**
   * Reads function `fn`'s variables from the environment (an {@link EnvironmentError} names every bad
   * one); Pub/Sub clients are made only when a queue is a Pub/Sub topic.
   */
  static async fromEnv<F extends RuntimeFunction>(
    fn: F,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<CloudRuntime<F>> {
    const environment = parseFunctionEnvironment(fn, env);
    const settings = await withWebhookSecret(env);
    const { QUEUES, GOOGLE_CLOUD_PROJECT }: EnvironmentOf<RuntimeFunction> = environment;
    const deadLetter = 'DEAD_LETTER' in environment ? [environment.DEAD_LETTER] : [];
    const addresses = Object.values(QUEUES).flatMap((lanes) => PRIORITIES.map((lane) => lanes[lane]));
    const usesPubSub = [...addresses, ...deadLetter].some(({ kind }) => kind === 'pubsub');
    const auth = googleAuthFromEnv(environment);
    const pubsub = usesPubSub
      ? await createPubSubClients({
          ...(GOOGLE_CLOUD_PROJECT !== undefined && { projectId: GOOGLE_CLOUD_PROJECT }),
          ...(auth !== undefined && { auth }),
        })
      : undefined;
    return new CloudRuntime(settings, environment, pubsub);
  }

  registry(): Promise<StepRegistry> {
    return StepRegistry.load(this.config.steps);
  }

  async jobs(this: CloudRuntime<'ingest'>): Promise<CloudJobs> {
    return new CloudJobs({
      registry: await this.registry(),
      tasks: this.tasks,
      inputs: this.#inputStore(),
      segments: this.inputs,
      results: this.results,
      router: this.router,
      ingestSteps: this.ingestSteps(),
      idempotency: new DynamoIdempotencyStore(this.dynamo, this.environment.TABLE_NAME),
      stats: this.stats,
      outputsAt: (jobId) => this.results.location(jobId),
      callbacksToLoopback: this.environment.AWS_ENDPOINT_URL !== undefined,
    });
  }

  /** The ingest steps of the queue named by `INGEST_STEPS`. */
  ingestSteps(this: CloudRuntime<'ingest' | 'ingest-step'>): IngestSteps {
    return new IngestSteps({
      tasks: this.tasks,
      inputs: this.#inputStore(),
      router: this.router,
      steps: new SqsQueue<IngestStepMessage>(this.sqs, this.environment.INGEST_STEPS),
    });
  }

  #inputStore(): S3InputStore {
    return new S3InputStore(this.s3, this.environment.BUCKET_NAME, 'inputs/');
  }

  /**
   * The processor of the target named by `TARGET`, whose dead letters go to `DEAD_LETTER`; `hooks` hear of
   * each delivery refused or held, for the function's log.
   */
  async processor(
    this: CloudRuntime<'processor'>,
    workerId: string,
    hooks?: ProcessorOptions['hooks'],
  ): Promise<ChunkProcessor> {
    const { TARGET, DEAD_LETTER, LEASE_MS } = this.environment;
    return new ChunkProcessor({
      target: TARGET,
      workerId,
      tasks: this.tasks,
      inputs: this.inputs,
      results: this.results,
      // Each job's own maxAttempts replaces the configured one.
      plans: new JobPlans(this.tasks, await this.registry(), retryOptions(this.config)),
      chunks: new ChunkRecords(this.tasks),
      graceMs: this.config.delivery.grace_ms,
      ...(hooks !== undefined && { hooks }),
      router: this.router,
      deadLetters: this.#queue(DEAD_LETTER),
      leaseMs: LEASE_MS,
    });
  }

  /** The reconciler, with the settings `reconcile.*`. */
  reconciler(this: CloudRuntime<'reconcile'>, onError?: ReconcilerOptions['onError']): Reconciler {
    const { reconcile, retry } = this.config;
    return new Reconciler({
      tasks: this.tasks,
      router: this.router,
      health: this.health,
      rules: {
        strandedAfterMs: reconcile.stranded_after_ms,
        breakerOpenMs: reconcile.breaker_open_ms,
        ingestStalledMs: reconcile.ingest_stalled_ms,
      },
      maxDelayMs: retry.max_delay_ms,
      ...(onError !== undefined && { onError }),
    });
  }

  #queue(address: QueueAddress): Queue<ChunkMessage> {
    if (address.kind === 'sqs') return new SqsQueue<ChunkMessage>(this.sqs, address.url);
    return new PubSubQueue<ChunkMessage>(this.#pubsub as PubSubClients, address, {
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
    });
  }

  /** A queue a lane; lanes with the same address share one queue (and its publisher). */
  #laneQueues(lanes: Lanes<QueueAddress>): LaneQueues {
    const queues = new Map<string, Queue<ChunkMessage>>();
    return byLane((lane) => {
      const address = lanes[lane];
      const key = address.kind === 'sqs' ? address.url : address.topic;
      const queue = queues.get(key) ?? this.#queue(address);
      queues.set(key, queue);
      return queue;
    });
  }

  #router(addresses: Readonly<Record<string, Lanes<QueueAddress>>>, health: DynamoHealthStore): Router {
    const { config } = this;
    const queues = new Map(
      Object.entries(addresses).map(([target, lanes]) => [target, this.#laneQueues(lanes)]),
    );
    const balancer = new Balancer(
      [...queues.keys()].map((name) => ({
        name,
        weight: config.weights[name] ?? 1,
        capacity: config.workers_per_target,
      })),
      balancerOptions(config),
      breakerOptions(config),
    );
    return new Router(balancer, queues, new TargetHealth(balancer, { store: health }));
  }
}
