import { FanoutError } from '../../core/errors.ts';

/** A message on a Pub/Sub subscription whose data the queue's codec could not read. */
export class PubSubDecodeError extends FanoutError {
  constructor(subscription: string, messageId: string, options?: ErrorOptions) {
    super(`message ${messageId} on ${subscription} could not be decoded`, options);
    this.name = 'PubSubDecodeError';
  }
}

/** A publish the Pub/Sub client reported as failed; the message may or may not have been published. */
export class PubSubPublishError extends FanoutError {
  constructor(topic: string, failed: number, total: number, options?: ErrorOptions) {
    super(`publish to ${topic}: ${failed} of ${total} messages failed`, options);
    this.name = 'PubSubPublishError';
  }
}

/** The caller lacks a permission on a topic that the queue needs. */
export class PubSubPermissionError extends FanoutError {
  constructor(topic: string, permission: string) {
    super(`this caller may not use ${topic}: ${permission} is not granted`);
    this.name = 'PubSubPermissionError';
  }
}

/** A Pub/Sub answer provisioning cannot go on from, or an existing resource it will not change on its own. */
export class PubSubProvisioningError extends FanoutError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PubSubProvisioningError';
  }
}
