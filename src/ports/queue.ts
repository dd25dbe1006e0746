/** A message as a queue hands it out. `receipt` is what acknowledges or releases this delivery. */
export interface Delivery<T> {
  receipt: string;
  body: T;
  /** How often this message has been handed out, this delivery included. */
  receiveCount: number;
}

export interface OutgoingMessage<T> {
  body: T;
  /** Hidden from receivers for this long first: how a retry waits out its backoff. */
  delayMs?: number;
}

export interface ReceiveOptions {
  max: number;
  /** Long polling: how long to wait for a first message when none is visible. */
  waitMs: number;
  /** How long a received message stays hidden before it is handed out again, unless acknowledged. */
  visibilityMs: number;
}

/**
 * At-least-once delivery, as SQS and Pub/Sub give it: a received message that is not acknowledged
 * within its visibility time is handed out again, so consumers must treat duplicates as normal.
 */
export interface Queue<T> {
  send(messages: readonly OutgoingMessage<T>[]): Promise<void>;
  receive(options: ReceiveOptions): Promise<Delivery<T>[]>;
  ack(receipts: readonly string[]): Promise<void>;
  /** Hands the message out again after `delayMs` (a nack). */
  release(receipt: string, delayMs: number): Promise<void>;
  /**
   * Messages waiting, visible or sent with a delay, not counting those handed out. Approximate on a cloud
   * queue, where one released with a delay may count as handed out until its delay has passed.
   */
  depth(): Promise<number>;
  /**
   * Resolves once the queue answers and takes sends; rejects with why not (gone, unreachable, not
   * allowed). One request, and no message is moved: cheap enough for a readiness check.
   */
  probe(): Promise<void>;
}
