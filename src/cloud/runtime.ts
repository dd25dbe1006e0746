import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoHealthStore } from '../adapters/aws/dynamo-health-store.ts';
import { DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { DynamoTaskStore } from '../adapters/aws/dynamo-task-store.ts';
import { S3ResultStore } from '../adapters/aws/s3-result-store.ts';
import { openS3Source } from '../adapters/aws/s3-source.ts';
import { SqsQueue } from '../adapters/aws/sqs-queue.ts';
import { createPubSubClients, type PubSubClients } from '../adapters/gcp/clients.ts';
import { PubSubQueue } from '../adapters/gcp/pubsub-queue.ts';
import { balancerOptions, breakerOptions, retryOptions } from '../config/core-options.ts';
import { EnvironmentError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { Balancer } from '../core/balancer.ts';
import { DEFAULT_JOB_TTL_SECONDS } from '../core/constants.ts';
import { StepRegistry } from '../core/pipeline/registry.ts';
import type { Queue } from '../ports/queue.ts';
import { awsCredentialsFromEnv, googleAuthFromEnv } from './cloud-credentials.ts';
import { CloudJobs } from './cloud-jobs.ts';
import { numberEnv, recordEnv, requiredEnv } from './env.ts';
import { JobPlans } from './job-plans.ts';
import type { ChunkMessage } from './messages.ts';
import { ChunkProcessor } from './processor.ts';
import { parseQueueAddress, type QueueAddress } from './queue-address.ts';
import { Router } from './router.ts';
import { TargetHealth } from './target-health.ts';

/**
 * A publish that takes longer fails, so that a cloud that stopped answering costs a routing decision a
 * few seconds, not the client's minute of retries, and its tries go to the other targets.
 */
const PUBLISH_TIMEOUT_MS = 5000;

/** The queues `QUEUES` and `DEAD_LETTER` name, read once. */
interface QueueAddresses {
  queues: ReadonlyMap<string, QueueAddress>;
  deadLetter?: QueueAddress;
}

/**
 * What one function container sees, on either cloud, built once from its environment: the stack sets
 * the resource names (`TABLE_NAME`, `BUCKET_NAME`, `QUEUES`, …) and `FANOUT_*` settings tune the jobs as
 * everywhere else. The AWS clients take their endpoint from the standard `AWS_ENDPOINT_URL` and the
 * Pub/Sub client from `PUBSUB_EMULATOR_HOST`, so the same code runs against the clouds and the emulators.
 * Credentials across clouds come from federation (see `cloud-credentials.ts`), never from stored keys.
 */
export class CloudRuntime {
  readonly config: Config;
  readonly env: NodeJS.ProcessEnv;
  readonly dynamo: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly tasks: DynamoTaskStore;
  readonly inputs: S3ResultStore;
  readonly results: S3ResultStore;
  readonly stats: DynamoStatsStore;
  readonly router: Router;
  readonly #pubsub: PubSubClients | undefined;
  readonly #deadLetter: QueueAddress | undefined;

  private constructor(env: NodeJS.ProcessEnv, addresses: QueueAddresses, pubsub: PubSubClients | undefined) {
    this.env = env;
    this.#pubsub = pubsub;
    this.#deadLetter = addresses.deadLetter;
    this.config = loadConfig({ env });
    const credentials = awsCredentialsFromEnv(env);
    const aws = { ...(credentials !== undefined && { credentials }) };
    // An emulator serves every bucket under one host name.
    const emulated = Boolean(env.AWS_ENDPOINT_URL);
    this.dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws), {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.sqs = new SQSClient(aws);
    this.s3 = new S3Client({ ...aws, forcePathStyle: emulated });
    const table = requiredEnv('TABLE_NAME', env);
    const bucket = requiredEnv('BUCKET_NAME', env);
    this.tasks = new DynamoTaskStore(this.dynamo, table, {
      jobTtlSeconds: numberEnv('JOB_TTL_SECONDS', DEFAULT_JOB_TTL_SECONDS, env),
    });
    this.inputs = new S3ResultStore(this.s3, bucket, 'inputs/');
    this.results = new S3ResultStore(this.s3, bucket, 'results/');
    this.stats = new DynamoStatsStore(this.dynamo, table);
    this.router = this.#router(addresses.queues, new DynamoHealthStore(this.dynamo, table));
  }

  /** Reads the environment; Pub/Sub clients are made only when a queue is a Pub/Sub topic. */
  static async fromEnv(env: NodeJS.ProcessEnv = process.env): Promise<CloudRuntime> {
    const queues = new Map(
      Object.entries(recordEnv('QUEUES', env)).map(([target, address]) => [
        target,
        parseQueueAddress('QUEUES', address),
      ]),
    );
    const deadLetter = env.DEAD_LETTER ? parseQueueAddress('DEAD_LETTER', env.DEAD_LETTER) : undefined;
    const usesPubSub = [...queues.values(), deadLetter].some((address) => address?.kind === 'pubsub');
    const auth = googleAuthFromEnv(env);
    const pubsub = usesPubSub
      ? await createPubSubClients({
          ...(env.GOOGLE_CLOUD_PROJECT && { projectId: env.GOOGLE_CLOUD_PROJECT }),
          ...(auth !== undefined && { auth }),
        })
      : undefined;
    return new CloudRuntime(env, { queues, ...(deadLetter && { deadLetter }) }, pubsub);
  }

  registry(): Promise<StepRegistry> {
    return StepRegistry.load(this.config.steps);
  }

  async jobs(): Promise<CloudJobs> {
    return new CloudJobs({
      registry: await this.registry(),
      tasks: this.tasks,
      inputs: this.inputs,
      results: this.results,
      router: this.router,
      stats: this.stats,
      openSource: (uri) => openS3Source(this.s3, uri),
    });
  }

  /** The processor of the target named by `TARGET`, whose dead letters go to `DEAD_LETTER`. */
  async processor(workerId: string): Promise<ChunkProcessor> {
    const target = requiredEnv('TARGET', this.env);
    if (!this.router.targets.includes(target)) {
      throw new EnvironmentError(
        `TARGET ${target} is not one of the targets in QUEUES (${this.router.targets.join(', ')}); a processor sends retries to its own target too`,
      );
    }
    return new ChunkProcessor({
      target,
      workerId,
      tasks: this.tasks,
      inputs: this.inputs,
      results: this.results,
      // Each job's own maxAttempts replaces the configured one.
      plans: new JobPlans(this.tasks, await this.registry(), retryOptions(this.config)),
      router: this.router,
      deadLetters: this.#queue(
        this.#deadLetter ?? parseQueueAddress('DEAD_LETTER', requiredEnv('DEAD_LETTER', this.env)),
      ),
      leaseMs: numberEnv('LEASE_MS', 300_000, this.env),
    });
  }

  #queue(address: QueueAddress): Queue<ChunkMessage> {
    if (address.kind === 'sqs') return new SqsQueue<ChunkMessage>(this.sqs, address.url);
    return new PubSubQueue<ChunkMessage>(this.#pubsub as PubSubClients, address, {
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
    });
  }

  #router(addresses: ReadonlyMap<string, QueueAddress>, health: DynamoHealthStore): Router {
    const { config } = this;
    const queues = new Map([...addresses].map(([target, address]) => [target, this.#queue(address)]));
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
