import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One logger and one metrics instance per function container, named after the function. */
export const observability = (serviceName: string) => ({
  logger: new Logger({ serviceName }),
  metrics: new Metrics({ namespace: 'Fanout', serviceName }),
});
