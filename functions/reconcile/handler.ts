import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { ReconcileReport } from '../../src/cloud/reconciler.ts';
import { CloudRuntime } from '../../src/cloud/runtime.ts';
import { observability } from '../shared/powertools.ts';

const { logger, metrics } = observability('reconcile');

const runtime = await CloudRuntime.fromEnv('reconcile');
const reconciler = runtime.reconciler((error, jobId) =>
  logger.error('job not reconciled; the next run tries it again', { jobId, error }),
);

/** The reconciler, run by EventBridge Scheduler every minute: its findings as metrics and one log line. */
const reconcile = async (): Promise<ReconcileReport> => {
  const report = await reconciler.run();
  metrics.addMetric('jobsActive', MetricUnit.Count, report.jobs);
  metrics.addMetric('jobsRetired', MetricUnit.Count, report.retired);
  metrics.addMetric('ingestsDied', MetricUnit.Count, report.ingestsDied);
  for (const [reason, count] of Object.entries(report.resent))
    metrics.addMetric(`triesResent_${reason}`, MetricUnit.Count, count);
  metrics.addMetric('targetsDown', MetricUnit.Count, report.down.length);
  metrics.addMetric('jobsNotReconciled', MetricUnit.Count, report.errors);
  logger.info('reconciled', { ...report });
  return report;
};

export const handler = middy(reconcile).use(injectLambdaContext(logger)).use(logMetrics(metrics));
