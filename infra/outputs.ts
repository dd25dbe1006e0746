import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { PRIORITIES } from '../src/core/constants.ts';
import type { Resources } from '../src/deploy/resources.ts';
import type { DataStores } from './data-stores.ts';
import type { Queues } from './queues.ts';

/** What a script or a user needs to find a deployment's resources: the output keys `cdk deploy` prints. */
export const addResourceOutputs = (
  stack: Stack,
  parts: { api: HttpApi; data: DataStores; queues: Queues; resources: Resources },
): void => {
  const { api, data, queues, resources } = parts;
  const output = (id: string, value: string, description?: string) =>
    new CfnOutput(stack, id, { value, ...(description !== undefined && { description }) });
  output('ApiEndpoint', api.apiEndpoint, 'The HTTP API');
  output('DashboardName', resources.observability.dashboardName);
  output('BucketName', data.bucket.bucketName, 'Inputs, uploads and results');
  output('AccessLogsBucketName', data.accessLogs.bucketName);
  output('TableName', data.table.tableName, 'Jobs and tasks');
  output('TableStreamArn', data.table.tableStreamArn as string, 'What the stats function reads');
  for (const { definition, lanes, deadLetters } of queues.targets) {
    const name = outputName(definition.target);
    for (const lane of PRIORITIES) {
      output(
        `${name}${outputName(lane)}QueueUrl`,
        lanes[lane].queueUrl,
        `Chunks of ${lane}-priority jobs for target ${definition.target}`,
      );
    }
    output(
      `${name}DeadLetterQueueUrl`,
      deadLetters.queueUrl,
      `Chunks of ${definition.target} that failed for good`,
    );
  }
  output('IngestStepsQueueUrl', queues.ingestSteps.queueUrl, 'Steps of the ingests under way');
  output(
    'StreamFailuresQueueUrl',
    queues.streamFailures.queueUrl,
    'Stream batches the stats function gave up on',
  );
};

/** An output id from a target name (`aws-2` → `Aws2`): ids are alphanumeric. */
const outputName = (target: string): string =>
  target
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
