import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoStatsStore } from '../../src/adapters/aws/dynamo-stats-store.ts';
import { DynamoTaskStore } from '../../src/adapters/aws/dynamo-task-store.ts';
import { S3ResultStore } from '../../src/adapters/aws/s3-result-store.ts';
import { createPubSubClients } from '../../src/adapters/gcp/clients.ts';
import { googleAuthFromEnv } from '../../src/cloud/cloud-credentials.ts';
import { cloudJobEnds } from '../../src/cloud/job-ends.ts';
import { CombinedResults, StatsFunction, UnsupportedEventError } from '../../src/cloud/stats-function.ts';
import { withWebhookSecret } from '../../src/cloud/webhook-secret.ts';
import { costing } from '../../src/config/core-options.ts';
import { parseFunctionEnvironment } from '../../src/config/function-env.ts';
import { loadConfig } from '../../src/config/load.ts';
import { observability } from '../shared/powertools.ts';

const { logger, metrics } = observability('stats');

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const environment = parseFunctionEnvironment('stats');
const {
  TABLE_NAME,
  BUCKET_NAME,
  AWS_ENDPOINT_URL,
  JOB_TTL_SECONDS,
  JOB_EVENTS_BUS,
  JOB_EVENTS_TOPIC,
  GOOGLE_CLOUD_PROJECT,
} = environment;
const auth = googleAuthFromEnv(environment);
const pubsub =
  JOB_EVENTS_TOPIC === undefined
    ? undefined
    : await createPubSubClients({
        ...(GOOGLE_CLOUD_PROJECT !== undefined && { projectId: GOOGLE_CLOUD_PROJECT }),
        ...(auth !== undefined && { auth }),
      });
const config = loadConfig({ env: await withWebhookSecret(process.env) });
const { notify } = config;
const tasks = new DynamoTaskStore(documents, TABLE_NAME, { jobTtlSeconds: JOB_TTL_SECONDS });
const store = new DynamoStatsStore(documents, TABLE_NAME, { jobTtlSeconds: JOB_TTL_SECONDS });
// A job's end is announced here, where its last deltas are applied: EventBridge, and its webhook.
const ends = cloudJobEnds({
  tasks,
  stats: store,
  // The stats function has no queues: each target is priced as its configured cloud.
  costing: costing(config),
  ...(JOB_EVENTS_BUS && { eventBridge: { client: new EventBridgeClient({}), bus: JOB_EVENTS_BUS } }),
  ...(pubsub && JOB_EVENTS_TOPIC && { topic: { pubsub: pubsub.pubsub, name: JOB_EVENTS_TOPIC } }),
  webhooks: { secret: notify.webhook_secret, attempts: notify.webhook_attempts },
  onError: (error, jobId) => logger.error('end notice of a job not sent', { jobId, error }),
});
// A calculation's result is reduced here once, when its last chunk settles: one object in the bucket.
// An emulator serves every bucket under one host name.
const s3 = new S3Client({ forcePathStyle: AWS_ENDPOINT_URL !== undefined });
const results = new S3ResultStore(s3, BUCKET_NAME, 'results/');
const combined = new CombinedResults({ tasks, results }, (error, jobId) =>
  logger.error('combined result of a job not written; readers reduce it themselves', { jobId, error }),
);
const stats = new StatsFunction(store, ends, combined);

const isStreamEvent = (event: unknown): event is DynamoDBStreamEvent =>
  typeof event === 'object' &&
  event !== null &&
  'Records' in event &&
  Array.isArray(event.Records) &&
  event.Records.every((record) => record?.eventSource === 'aws:dynamodb');

const aggregate = async ({ Records }: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const result = await stats.aggregate(Records);
  metrics.addMetric('recordsApplied', MetricUnit.Count, result.applied);
  metrics.addMetric('recordsRedelivered', MetricUnit.Count, result.skipped);
  metrics.addMetric('jobsFinished', MetricUnit.Count, result.finished.length);
  metrics.addMetric('recordsFailed', MetricUnit.Count, result.batchItemFailures.length);
  for (const { deltas, error } of result.failed) {
    logger.error('stats of a job not applied; its records go back to the stream', {
      jobId: deltas[0]?.jobId,
      records: deltas.length,
      error,
    });
  }
  if (result.finished.length > 0) logger.info('jobs finished', { jobIds: result.finished });
  if (result.announced.length > 0) logger.info('job ends announced', { jobIds: result.announced });
  return { batchItemFailures: result.batchItemFailures };
};

/** The stats function: DynamoDB stream batches of the table. */
export const handler = middy<unknown, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    if (isStreamEvent(event)) return aggregate(event);
    throw new UnsupportedEventError(Object.keys(event ?? {}));
  });
