import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoStatsStore } from '../../src/adapters/aws/dynamo-stats-store.ts';
import { StatsFunction, UnsupportedEventError } from '../../src/cloud/stats-function.ts';
import { parseFunctionEnvironment } from '../../src/config/function-env.ts';
import { observability } from '../shared/powertools.ts';

const { logger, metrics } = observability('stats');

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const { TABLE_NAME, JOB_TTL_SECONDS } = parseFunctionEnvironment('stats');
const stats = new StatsFunction(
  new DynamoStatsStore(documents, TABLE_NAME, { jobTtlSeconds: JOB_TTL_SECONDS }),
);

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
