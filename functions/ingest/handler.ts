import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { JobsApi } from '../../src/api/jobs-api.ts';
import { fromHttpApiEvent, toHttpApiResult } from '../../src/api/lambda-http.ts';
import { CloudRuntime } from '../../src/cloud/runtime.ts';
import { METRICS_NAMESPACE, observability } from '../shared/powertools.ts';

const { logger, metrics } = observability('ingest');

const runtime = await CloudRuntime.fromEnv('ingest');
const api = new JobsApi(await runtime.jobs(), runtime.config, {
  // API Gateway stops bodies at 10 MB; larger inputs come as {"source": "s3://…"}.
  maxBodyBytes: 10 * 1024 * 1024,
  // One request at a time in a function container; several at once under `fanout serve --mode emulators`.
  maxIngestingJobs: runtime.config.server.max_ingesting_jobs,
  // ?wait= ends before the function's 29 s and API Gateway's 30 s; each read is two DynamoDB reads.
  longPoll: { maxSeconds: 25, intervalMs: 1000 },
  metrics: {
    elsewhere: `the cloud serves no Prometheus metrics: its AWS functions publish CloudWatch metrics through Powertools to namespace ${METRICS_NAMESPACE} (chunks_<outcome> from the processors; recordsApplied, recordsFailed and jobsFinished from the stats function), which the stack's dashboard shows beside the API's, the queues' and the functions' own; GET /stats gives the job counts and each target's breaker`,
  },
});

const serve = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const response = await api.handle(fromHttpApiEvent(event));
  // A 503 is the API working as meant (busy, not ready, no target); only other 5xx are faults.
  if (response.status === 503)
    logger.warn('request turned away', { status: response.status, path: event.rawPath });
  else if (response.status >= 500)
    logger.error('request failed', { status: response.status, path: event.rawPath });
  return toHttpApiResult(response);
};

export const handler = middy(serve).use(injectLambdaContext(logger)).use(logMetrics(metrics));
