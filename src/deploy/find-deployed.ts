import { DescribeTableCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, NotFound } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, QueueDoesNotExist } from '@aws-sdk/client-sqs';
import { PRIORITIES } from '../core/constants.ts';
import { byLane } from '../core/lanes.ts';
import { type AwsClients, type ProvisionedAws, ProvisioningError } from './provision.ts';
import type { Resources } from './resources.ts';

const isMissing = (error: unknown): boolean =>
  error instanceof QueueDoesNotExist ||
  error instanceof ResourceNotFoundException ||
  error instanceof NotFound;

/**
 * Where a deployed stack's resources are, found by the names the definitions give them: every target's
 * lane queues and dead-letter queue, the queue of ingest steps, the table's stream and the data bucket. Reads only: it creates and changes
 * nothing. Throws one `ProvisioningError` naming every resource that is not there.
 */
export const findDeployedAws = async (resources: Resources, clients: AwsClients): Promise<ProvisionedAws> => {
  const { sqs, dynamo, s3 } = clients;
  const missing: string[] = [];
  const find = async (what: string, read: () => Promise<string | undefined>): Promise<string> => {
    try {
      const value = await read();
      if (value !== undefined) return value;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    missing.push(what);
    return '';
  };
  const queue = async (name: string) => {
    const url = await find(
      `queue ${name}`,
      async () => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl,
    );
    if (url === '') return { url, arn: '' };
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return { url, arn: Attributes?.QueueArn ?? '' };
  };
  const queues = await Promise.all(
    resources.queues.map(async (definition) => {
      // One after another, so the missing ones are named in the lanes' order.
      const lanes: { url: string; arn: string }[] = [];
      for (const lane of PRIORITIES) lanes.push(await queue(definition.lanes[lane].name));
      return {
        target: definition.target,
        lanes: byLane((lane) => lanes[PRIORITIES.indexOf(lane)] as { url: string; arn: string }),
        deadLetter: await queue(definition.deadLetterName),
      };
    }),
  );
  const ingestSteps = await queue(resources.ingestSteps.queueName);
  const ingestStepDeadLetters = await queue(resources.ingestSteps.deadLetterName);
  const { table, bucket } = resources;
  const tableStreamArn = await find(
    `the stream of table ${table.name}`,
    async () =>
      (await dynamo.send(new DescribeTableCommand({ TableName: table.name }))).Table?.LatestStreamArn,
  );
  await find(`bucket ${bucket.name}`, async () => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket.name }));
    return bucket.name;
  });
  if (missing.length > 0) {
    throw new ProvisioningError(
      `not deployed: ${missing.join(', ')}; deploy the stack first (npm run deploy:emulator)`,
    );
  }
  const byTarget = <T>(pick: (found: (typeof queues)[number]) => T) =>
    Object.fromEntries(queues.map((found) => [found.target, pick(found)]));
  return {
    queueUrls: byTarget((found) => byLane((lane) => found.lanes[lane].url)),
    queueArns: byTarget((found) => byLane((lane) => found.lanes[lane].arn)),
    deadLetterUrls: byTarget((found) => found.deadLetter.url),
    deadLetterArns: byTarget((found) => found.deadLetter.arn),
    ingestSteps: { ...ingestSteps, deadLetterUrl: ingestStepDeadLetters.url },
    tableStreamArn,
    bucket: bucket.name,
  };
};
