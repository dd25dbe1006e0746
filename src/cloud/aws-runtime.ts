import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { DynamoTaskStore } from '../adapters/aws/dynamo-task-store.ts';
import { S3ResultStore } from '../adapters/aws/s3-result-store.ts';
import { openS3Source } from '../adapters/aws/s3-source.ts';
import { SqsQueue } from '../adapters/aws/sqs-queue.ts';
import { balancerOptions, breakerOptions, retryOptions } from '../config/core-options.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { Balancer } from '../core/balancer.ts';
import { StepRegistry } from '../core/pipeline/registry.ts';
import type { Queue } from '../ports/queue.ts';
import { CloudJobs } from './cloud-jobs.ts';
import { numberEnv, recordEnv, requiredEnv } from './env.ts';
import { JobPlans } from './job-plans.ts';
import type { ChunkMessage } from './messages.ts';
import { ChunkProcessor } from './processor.ts';
import { Router } from './router.ts';

/**
 * The AWS side as one function container sees it, built once from its environment: the stack sets the
 * resource names (`TABLE_NAME`, `BUCKET_NAME`, `QUEUE_URLS`, …) and `FANOUT_*` settings tune the jobs
 * as everywhere else. Clients take their endpoint from the standard `AWS_ENDPOINT_URL`, so the same code
 * runs against AWS, LocalStack and moto.
 */
export class AwsRuntime {
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

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.env = env;
    this.config = loadConfig({ env });
    // An emulator serves every bucket under one host name.
    const emulated = Boolean(env.AWS_ENDPOINT_URL);
    this.dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.sqs = new SQSClient({});
    this.s3 = new S3Client({ forcePathStyle: emulated });
    const table = requiredEnv('TABLE_NAME', env);
    const bucket = requiredEnv('BUCKET_NAME', env);
    this.tasks = new DynamoTaskStore(this.dynamo, table, {
      ttlSeconds: numberEnv('JOB_TTL_SECONDS', 7 * 86_400, env),
    });
    this.inputs = new S3ResultStore(this.s3, bucket, 'inputs/');
    this.results = new S3ResultStore(this.s3, bucket, 'results/');
    this.stats = new DynamoStatsStore(this.dynamo, table);
    this.router = this.#router(recordEnv('QUEUE_URLS', env));
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

  /** The processor of the target named by `TARGET`, whose dead letters go to `DEAD_LETTER_URL`. */
  async processor(workerId: string): Promise<ChunkProcessor> {
    return new ChunkProcessor({
      target: requiredEnv('TARGET', this.env),
      workerId,
      tasks: this.tasks,
      inputs: this.inputs,
      results: this.results,
      // Each job's own maxAttempts replaces the configured one.
      plans: new JobPlans(this.tasks, await this.registry(), retryOptions(this.config)),
      router: this.router,
      deadLetters: new SqsQueue<ChunkMessage>(this.sqs, requiredEnv('DEAD_LETTER_URL', this.env)),
      leaseMs: numberEnv('LEASE_MS', 300_000, this.env),
    });
  }

  #router(urls: Record<string, string>): Router {
    const { config } = this;
    const queues = new Map<string, Queue<ChunkMessage>>(
      Object.entries(urls).map(([target, url]) => [target, new SqsQueue<ChunkMessage>(this.sqs, url)]),
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
    return new Router(balancer, queues);
  }
}
