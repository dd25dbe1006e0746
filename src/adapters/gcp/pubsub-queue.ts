import type { BatchPublishOptions, PubSub, Topic, v1 } from '@google-cloud/pubsub';
import { type Codec, jsonCodec } from '../../ports/codec.ts';
import type { Delivery, OutgoingMessage, Queue, ReceiveOptions } from '../../ports/queue.ts';
import { PubSubDecodeError, PubSubPermissionError, PubSubPublishError } from './errors.ts';

/** Pub/Sub's own limits, and how this adapter works within them. */
export const PUBSUB = {
  /** The longest ack deadline Pub/Sub keeps (modifyAckDeadline and a subscription's own). */
  maxAckDeadlineSeconds: 600,
  /** Ack IDs per acknowledge or modifyAckDeadline call: well under the 512 KB request limit. */
  ackBatch: 1000,
  /** Messages per pull; more is refused. */
  maxPullMessages: 1000,
  /** A pull that waits is given at least this long: a shorter gRPC deadline cuts off the emulator's pulls. */
  minPullTimeoutMs: 1000,
  /** The attribute that carries a message's `delayMs`, as the epoch millisecond it becomes visible. */
  delayUntilAttribute: 'delayUntil',
  /** How many messages' receive counts one queue object remembers (see `receiveCount`). */
  maxTrackedMessages: 10_000,
} as const;

/** The gRPC status a pull cut off by its own deadline ends with. */
const DEADLINE_EXCEEDED = 4;
/** The gRPC status of a method a server does not implement: the emulator's answer to IAM calls. */
const UNIMPLEMENTED = 12;
const PUBLISH = 'pubsub.topics.publish';

/** Publisher batching of the handwritten client. @default { maxMessages: 100, maxMilliseconds: 10 } */
const DEFAULT_BATCHING: BatchPublishOptions = { maxMessages: 100, maxMilliseconds: 10 };

export interface PubSubQueueOptions<T> {
  /** @default JSON */
  codec?: Codec<T>;
  /**
   * Attributes to publish with a message besides `delayUntil`, e.g. a job id a subscription filter or a
   * push endpoint can read without decoding the body.
   * @default none
   */
  attributes?: (body: T) => Record<string, string>;
  /** The publisher's batching: messages sent at once go in as few publish requests as it allows. @default { maxMessages: 100, maxMilliseconds: 10 } */
  batching?: BatchPublishOptions;
  /**
   * How long one publish may take before it fails. Long enough for a slow moment, short enough that a
   * router learns of a cloud that stopped answering in seconds.
   * @default the client's own (a minute, with retries)
   */
  publishTimeoutMs?: number;
  /** The clock `delayUntil` is written and read by. @default Date.now */
  now?: () => number;
}

/** Where the queue is: a topic to publish to and a subscription of it to pull from (short names or full paths). */
export interface PubSubQueueNames {
  topic: string;
  subscription: string;
}

interface Tally {
  /** Deliveries this object handed out. */
  handedOut: number;
  /** Deliveries Pub/Sub counted that were no hand-out: a `depth` peek, a delayed message put back. */
  skipped: number;
}

type ReceivedMessage = v1.protos.google.pubsub.v1.IReceivedMessage;

const seconds = (ms: number): number => Math.min(PUBSUB.maxAckDeadlineSeconds, Math.ceil(ms / 1000));

const inBatches = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

const isDeadlineExceeded = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DEADLINE_EXCEEDED;

/**
 * A target queue on Pub/Sub: publish to a topic, synchronous pull from one subscription of it.
 *
 * How the port maps, and what is approximate:
 * - `send` publishes through the client's batching, all messages at once, then flushes. Pub/Sub has no
 *   per-message delay, so `delayMs` becomes a `delayUntil` attribute (epoch ms). A receive that pulls a
 *   message whose `delayUntil` is still ahead does not hand it out: it sets the message's ack deadline to
 *   the delay left (at most 600 s; a longer delay repeats this) and pulls on. The cost: each such pull is a
 *   delivery Pub/Sub counts towards `deliveryAttempt` and the dead-letter policy, and the delay depends on
 *   the sender's and the receiver's clocks agreeing.
 * - `receive` pulls with `returnImmediately: false` until a message can be handed out or `waitMs` has
 *   passed, and sets the ack deadline of what it hands out to `visibilityMs` (whole seconds, at most 600).
 * - `receiveCount` is `deliveryAttempt` when the subscription has a dead-letter policy (only then does
 *   Pub/Sub count), less the deliveries this object knows were no hand-out (peeks, delayed messages put
 *   back); without one it is this object's own count of its hand-outs. Both are exact for one queue object
 *   and approximate across processes.
 * - `ack` acknowledges; `release(receipt, delayMs)` sets the ack deadline to the delay (0 is a nack;
 *   at most 600 s).
 * - `depth` has no API to read: Pub/Sub's backlog metric (Cloud Monitoring) lags by minutes, counts
 *   handed-out messages too, and the emulator has none. So it peeks: it pulls everything pullable at once
 *   and nacks it all, and counts it. That is exact for a quiet subscription but not free: each peek is a
 *   delivery of every waiting message (counted towards the dead-letter policy, where a subscription has one,
 *   which `receiveCount` makes up for only in this object), and a receive running alongside it finds those
 *   messages hidden for a moment. A delayed message a receive has already put back counts as handed out
 *   until its delay has passed, as one released with a delay does. Use it for tests and diagnostics,
 *   not to autoscale.
 */
export class PubSubQueue<T> implements Queue<T> {
  readonly #pubsub: PubSub;
  readonly #subscriber: v1.SubscriberClient;
  readonly #names: PubSubQueueNames;
  readonly #codec: Codec<T>;
  readonly #attributes: (body: T) => Record<string, string>;
  readonly #topic: Topic;
  readonly #now: () => number;
  #subscriptionPath: string | undefined;
  /** By message ID: how often it was pulled, and why (see {@link Tally}). */
  readonly #tallies = new Map<string, Tally>();
  /** Ack ID to message ID, so an acknowledged message's tally is dropped. */
  readonly #receipts = new Map<string, string>();

  constructor(
    clients: { pubsub: PubSub; subscriber: v1.SubscriberClient },
    names: PubSubQueueNames,
    options: PubSubQueueOptions<T> = {},
  ) {
    this.#pubsub = clients.pubsub;
    this.#subscriber = clients.subscriber;
    this.#names = names;
    this.#codec = options.codec ?? jsonCodec<T>();
    this.#attributes = options.attributes ?? (() => ({}));
    this.#now = options.now ?? Date.now;
    this.#topic = this.#pubsub.topic(names.topic, {
      batching: options.batching ?? DEFAULT_BATCHING,
      ...(options.publishTimeoutMs !== undefined && {
        gaxOpts: { timeout: options.publishTimeoutMs, retry: null },
      }),
    });
  }

  async send(messages: readonly OutgoingMessage<T>[]): Promise<void> {
    if (messages.length === 0) return;
    const now = this.#now();
    const published = messages.map((message) =>
      this.#topic.publishMessage({
        data: Buffer.from(this.#codec.encode(message.body)),
        attributes: {
          ...this.#attributes(message.body),
          ...(message.delayMs !== undefined &&
            message.delayMs > 0 && { [PUBSUB.delayUntilAttribute]: String(now + message.delayMs) }),
        },
      }),
    );
    // Every publish is awaited, even when the flush fails first: a publish that fails later must not go
    // unhandled.
    const [flushed, ...results] = await Promise.allSettled([this.#topic.flush(), ...published]);
    const failures = results.filter((result) => result.status === 'rejected');
    if (failures.length > 0 || flushed?.status === 'rejected') {
      const failed = failures.length > 0 ? failures.length : messages.length;
      throw new PubSubPublishError(this.#names.topic, failed, messages.length, {
        cause: failures[0]?.reason ?? (flushed as PromiseRejectedResult).reason,
      });
    }
  }

  async receive({ max, waitMs, visibilityMs }: ReceiveOptions): Promise<Delivery<T>[]> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const left = deadline - performance.now();
      const pulled = await this.#pull(Math.min(max, PUBSUB.maxPullMessages), left > 0 ? left : undefined);
      const ready = await this.#putBackDelayed(pulled);
      if (ready.length > 0) {
        await this.#modifyAckDeadline(
          ready.map((message) => message.ackId as string),
          seconds(visibilityMs),
        );
        return ready.map((message) => this.#deliver(message));
      }
      if (performance.now() >= deadline) return [];
    }
  }

  async ack(receipts: readonly string[]): Promise<void> {
    const subscription = await this.#subscription();
    for (const batch of inBatches(receipts, PUBSUB.ackBatch)) {
      await this.#subscriber.acknowledge({ subscription, ackIds: batch });
    }
    for (const receipt of receipts) {
      const messageId = this.#receipts.get(receipt);
      this.#receipts.delete(receipt);
      if (messageId !== undefined) this.#tallies.delete(messageId);
    }
  }

  async release(receipt: string, delayMs: number): Promise<void> {
    await this.#modifyAckDeadline([receipt], seconds(Math.max(0, delayMs)));
    this.#receipts.delete(receipt);
  }

  async depth(): Promise<number> {
    const seen = new Set<string>();
    const ackIds: string[] = [];
    try {
      for (;;) {
        const pulled = await this.#pull(PUBSUB.maxPullMessages, undefined);
        if (pulled.length === 0) break;
        for (const message of pulled) {
          ackIds.push(message.ackId as string);
          const id = message.message?.messageId ?? '';
          seen.add(id);
          this.#tally(id).skipped += 1;
        }
      }
    } finally {
      await this.#modifyAckDeadline(ackIds, 0);
    }
    return seen.size;
  }

  /**
   * TestIamPermissions on the topic, which every caller may make: it fails for a topic that is gone, and
   * answers whether this caller may publish, with no permission beyond the publisher's. The emulator has
   * no IAM, so there a GetTopic stands in.
   */
  async probe(): Promise<void> {
    let allowed: Record<string, boolean>;
    try {
      [allowed] = await this.#topic.iam.testPermissions(PUBLISH);
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNIMPLEMENTED) throw error;
      await this.#topic.getMetadata();
      return;
    }
    if (!allowed[PUBLISH]) throw new PubSubPermissionError(this.#names.topic, PUBLISH);
  }

  /** One pull: waiting up to `waitMs` for a first message, or returning at once when it is undefined. */
  async #pull(maxMessages: number, waitMs: number | undefined): Promise<ReceivedMessage[]> {
    const subscription = await this.#subscription();
    const request = { subscription, maxMessages, returnImmediately: waitMs === undefined };
    try {
      const [response] = await this.#subscriber.pull(
        request,
        waitMs === undefined
          ? {}
          : { timeout: Math.max(PUBSUB.minPullTimeoutMs, Math.ceil(waitMs)), maxRetries: 0 },
      );
      return response.receivedMessages ?? [];
    } catch (error) {
      // A waiting pull that found nothing before its deadline: an empty long poll, not a failure.
      if (waitMs !== undefined && isDeadlineExceeded(error)) return [];
      throw error;
    }
  }

  /** Puts back the messages whose `delayUntil` is still ahead, each for the delay it has left. */
  async #putBackDelayed(pulled: ReceivedMessage[]): Promise<ReceivedMessage[]> {
    const now = this.#now();
    const ready: ReceivedMessage[] = [];
    const delayed = new Map<number, string[]>();
    for (const message of pulled) {
      const until = Number(message.message?.attributes?.[PUBSUB.delayUntilAttribute] ?? Number.NaN);
      if (!(until > now)) {
        ready.push(message);
        continue;
      }
      const deadlineSeconds = seconds(until - now);
      delayed.set(deadlineSeconds, [...(delayed.get(deadlineSeconds) ?? []), message.ackId as string]);
      this.#tally(message.message?.messageId ?? '').skipped += 1;
    }
    await Promise.all(
      [...delayed].map(([deadlineSeconds, ackIds]) => this.#modifyAckDeadline(ackIds, deadlineSeconds)),
    );
    return ready;
  }

  #deliver(received: ReceivedMessage): Delivery<T> {
    const receipt = received.ackId as string;
    const messageId = received.message?.messageId ?? '';
    const tally = this.#tally(messageId);
    tally.handedOut += 1;
    this.#remember(this.#receipts, receipt, messageId);
    const attempt = received.deliveryAttempt ?? 0;
    const data = received.message?.data;
    const text =
      typeof data === 'string'
        ? Buffer.from(data, 'base64').toString('utf8')
        : Buffer.from(data ?? []).toString('utf8');
    let body: T;
    try {
      body = this.#codec.decode(text);
    } catch (error) {
      throw new PubSubDecodeError(this.#names.subscription, messageId, { cause: error });
    }
    return {
      receipt,
      body,
      receiveCount: attempt > 0 ? Math.max(1, attempt - tally.skipped) : tally.handedOut,
    };
  }

  #tally(messageId: string): Tally {
    let tally = this.#tallies.get(messageId);
    if (tally === undefined) {
      tally = { handedOut: 0, skipped: 0 };
      this.#remember(this.#tallies, messageId, tally);
    }
    return tally;
  }

  /** Sets a key, forgetting the oldest one past {@link PUBSUB.maxTrackedMessages}. */
  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.set(key, value);
    if (map.size > PUBSUB.maxTrackedMessages) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }

  async #modifyAckDeadline(ackIds: readonly string[], ackDeadlineSeconds: number): Promise<void> {
    if (ackIds.length === 0) return;
    const subscription = await this.#subscription();
    await Promise.all(
      inBatches(ackIds, PUBSUB.ackBatch).map((batch) =>
        this.#subscriber.modifyAckDeadline({ subscription, ackIds: batch, ackDeadlineSeconds }),
      ),
    );
  }

  async #subscription(): Promise<string> {
    if (this.#subscriptionPath === undefined) {
      const name = this.#names.subscription;
      this.#subscriptionPath = name.startsWith('projects/')
        ? name
        : this.#subscriber.subscriptionPath(await this.#subscriber.getProjectId(), name);
    }
    return this.#subscriptionPath;
  }
}
