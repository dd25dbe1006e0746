import { z } from 'zod';

/** Where a target's tries are sent: an SQS queue by its URL, or a Pub/Sub topic with its subscription. */
export type QueueAddress =
  | { kind: 'sqs'; url: string }
  | { kind: 'pubsub'; topic: string; subscription: string };

const TOPIC = /^projects\/([^/]+)\/topics\/([^/]+)$/;

/** A Pub/Sub topic's path, the form a queue address gives a topic in. */
export const topicPath = (project: string, topic: string): string => `projects/${project}/topics/${topic}`;

/**
 * A queue address as the deployment writes it: an SQS queue URL, or a topic path `projects/P/topics/T`,
 * whose subscription shares the topic's name (as `defineGcpResources` names them).
 */
export const queueAddress = z.string().transform((address, context): QueueAddress => {
  if (/^https?:\/\//.test(address)) return { kind: 'sqs', url: address };
  const topic = TOPIC.exec(address);
  if (topic !== null) {
    const [, project, name] = topic;
    return { kind: 'pubsub', topic: address, subscription: `projects/${project}/subscriptions/${name}` };
  }
  context.addIssue({
    code: 'custom',
    message: `"${address}" is neither an SQS queue URL nor a Pub/Sub topic projects/P/topics/T`,
  });
  return z.NEVER;
});

/**
 * A target's queues, one a lane: `{"high": address, "medium": address, "low": address}`. Every lane is
 * named, and nothing else: a plain address is refused, so that a deployment that forgot its lanes fails
 * at start rather than sending urgent work behind a backlog.
 */
const laneAddress = z.string({ error: 'no queue address for this lane' }).pipe(queueAddress);

export const laneAddresses = z.strictObject(
  { high: laneAddress, medium: laneAddress, low: laneAddress },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.join(', ')}: not a lane (high, medium, low)`
        : 'an object of lane to queue address: {"high": …, "medium": …, "low": …}',
  },
);
