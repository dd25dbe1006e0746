import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The CloudWatch namespace every function's metrics go to. */
export const METRICS_NAMESPACE = 'Fanout';

/** One logger and one metrics instance per function container, named after the function. */
export const observability = (serviceName: string) => ({
  logger: new Logger({ serviceName }),
  metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
});
