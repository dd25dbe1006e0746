import { EnvironmentError } from '../config/errors.ts';

/** Where a target's tries are sent: an SQS queue by its URL, or a Pub/Sub topic with its subscription. */
export type QueueAddress =
  | { kind: 'sqs'; url: string }
  | { kind: 'pubsub'; topic: string; subscription: string };

const TOPIC = /^projects\/([^/]+)\/topics\/([^/]+)$/;

/**
 * Reads a queue address as the stack writes it: an SQS queue URL, or a topic path
 * `projects/P/topics/T`, whose subscription shares the topic's name (as `defineGcpResources` names them).
 */
export const parseQueueAddress = (variable: string, address: string): QueueAddress => {
  if (/^https?:\/\//.test(address)) return { kind: 'sqs', url: address };
  const topic = TOPIC.exec(address);
  if (topic !== null) {
    const [, project, name] = topic;
    return { kind: 'pubsub', topic: address, subscription: `projects/${project}/subscriptions/${name}` };
  }
  throw new EnvironmentError(
    `${variable} holds "${address}", which is neither an SQS queue URL nor a Pub/Sub topic projects/P/topics/T`,
  );
};
