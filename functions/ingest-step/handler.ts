import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { IngestStepMessage } from '../../src/cloud/ingest-steps.ts';
import { CloudRuntime } from '../../src/cloud/runtime.ts';
import { observability } from '../shared/powertools.ts';

const { logger, metrics } = observability('ingest-step');

const runtime = await CloudRuntime.fromEnv('ingest-step');
const steps = runtime.ingestSteps();
const batch = new BatchProcessor(EventType.SQS);

/**
 * One step per record (the mapping's batch size is 1): a step that throws is left unsettled, and SQS hands
 * it out again after the visibility timeout, to resume from the job's last checkpoint.
 */
const runSteps = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(
    event,
    async (record: SQSRecord) => {
      const { jobId } = IngestStepMessage.parse(JSON.parse(record.body));
      const outcome = await steps
        .run(jobId, () => context.getRemainingTimeInMillis())
        .catch((error: unknown) => {
          logger.warn('ingest step stopped; it resumes from the last checkpoint', { jobId, error });
          throw error;
        });
      metrics.addMetric(`ingest_steps_${outcome}`, MetricUnit.Count, 1);
      logger.info('ingest step', { jobId, outcome, messageId: record.messageId });
      return outcome;
    },
    batch,
    { context, throwOnFullBatchFailure: false },
  );

export const handler = middy(runSteps).use(injectLambdaContext(logger)).use(logMetrics(metrics));
