import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DeliveryNotSettledError } from '../../src/cloud/errors.ts';
import { type ChunkDelivery, ChunkMessage } from '../../src/cloud/messages.ts';
import { CloudRuntime } from '../../src/cloud/runtime.ts';
import { observability } from '../shared/powertools.ts';

const { logger, metrics } = observability('process-aws');

const runtime = await CloudRuntime.fromEnv('processor');
const processor = await runtime.processor(runtime.environment.AWS_LAMBDA_LOG_STREAM_NAME ?? 'process-aws', {
  refused: ({ id, message: { jobId, index, attempt } }, reason) =>
    logger.warn('delivery refused and dead-lettered', { messageId: id, jobId, index, attempt, reason }),
  held: ({ id, message: { jobId, index } }, reason) =>
    logger.info('delivery held until its job or chunk is recorded', { messageId: id, jobId, index, reason }),
});
const batch = new BatchProcessor(EventType.SQS);

const toDelivery = (record: SQSRecord): ChunkDelivery | undefined => {
  try {
    const message = ChunkMessage.parse(JSON.parse(record.body));
    return {
      id: record.messageId,
      message,
      redelivered: Number(record.attributes.ApproximateReceiveCount) > 1,
    };
  } catch (error) {
    // Left unsettled: SQS hands it out again until the redrive policy moves it to the dead-letter queue.
    logger.error('unreadable message', { messageId: record.messageId, error });
    return undefined;
  }
};

/**
 * The batch is processed as one, so its outputs are stored as one object; Powertools then reports each
 * record that did not settle as a batch item failure, and SQS hands only those out again.
 */
const processBatch = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deliveries = event.Records.map(toDelivery).filter((d) => d !== undefined);
  // Chunks there is no time left for are left to SQS, which hands them out again.
  const outcomes = await processor.process(deliveries, () => context.getRemainingTimeInMillis());
  const counts = new Map<string, number>();
  for (const outcome of outcomes.values()) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  for (const [outcome, count] of counts) metrics.addMetric(`chunks_${outcome}`, MetricUnit.Count, count);
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      const outcome = outcomes.get(record.messageId);
      if (outcome === undefined || outcome === 'retry') throw new DeliveryNotSettledError(record.messageId);
      return outcome;
    },
    batch,
    { context, throwOnFullBatchFailure: false },
  );
};

export const handler = middy(processBatch).use(injectLambdaContext(logger)).use(logMetrics(metrics));
