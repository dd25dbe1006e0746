import type { Delivery, OutgoingMessage, Queue, ReceiveOptions } from '../../ports/queue.ts';
import { MinHeap } from '../../util/min-heap.ts';

interface Entry<T> {
  body: T;
  receiveCount: number;
}

export interface MemoryQueueOptions {
  /**
   * Fault injection: the chance that a delivery is handed out a second time while the first is still
   * being processed, as SQS and Pub/Sub sometimes do.
   * @default 0
   */
  duplicateRate?: number;
  random?: () => number;
  now?: () => number;
}

/** An in-process queue with SQS's delivery rules: delays, visibility timeouts, redelivery, long polling. */
export class MemoryQueue<T> implements Queue<T> {
  readonly #ready: Entry<T>[] = [];
  #head = 0;
  readonly #delayed = new MinHeap<Entry<T>>();
  readonly #inFlight = new Map<string, { entry: Entry<T>; deadline: number }>();
  readonly #deadlines = new MinHeap<string>();
  readonly #waiters = new Set<() => void>();
  readonly #duplicateRate: number;
  readonly #random: () => number;
  readonly #now: () => number;
  #nextReceipt = 0;
  #closed = false;

  constructor(options: MemoryQueueOptions = {}) {
    this.#duplicateRate = options.duplicateRate ?? 0;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  async send(messages: readonly OutgoingMessage<T>[]): Promise<void> {
    const now = this.#now();
    for (const { body, delayMs = 0 } of messages) {
      const entry = { body, receiveCount: 0 };
      if (delayMs > 0) this.#delayed.push(now + delayMs, entry);
      else this.#ready.push(entry);
    }
    this.#wake();
  }

  async receive({ max, waitMs, visibilityMs }: ReceiveOptions): Promise<Delivery<T>[]> {
    const until = this.#now() + waitMs;
    for (;;) {
      if (this.#closed) return [];
      const deliveries = this.#take(max, visibilityMs);
      const now = this.#now();
      if (deliveries.length > 0 || now >= until) return deliveries;
      await this.#wait(Math.min(until, this.#nextDue() ?? until) - now);
    }
  }

  /**
   * Messages a receive would hand out now; when there are none, waits up to `waitMs` for one. Why: a
   * consumer of several queues (the engine's lanes) chooses which to receive from by what each holds.
   */
  async visible(waitMs = 0): Promise<number> {
    const until = this.#now() + waitMs;
    for (;;) {
      this.#promote();
      const count = this.#ready.length - this.#head;
      const now = this.#now();
      if (count > 0 || this.#closed || now >= until) return count;
      await this.#wait(Math.min(until, this.#nextDue() ?? until) - now);
    }
  }

  async ack(receipts: readonly string[]): Promise<void> {
    for (const receipt of receipts) this.#inFlight.delete(receipt);
  }

  async release(receipt: string, delayMs: number): Promise<void> {
    const held = this.#inFlight.get(receipt);
    if (held === undefined) return;
    this.#inFlight.delete(receipt);
    if (delayMs > 0) this.#delayed.push(this.#now() + delayMs, held.entry);
    else this.#ready.push(held.entry);
    this.#wake();
  }

  /**
   * Hands out nothing more: a receive that is waiting returns at once with no messages, and so does every
   * later one. Why: a consumer shutting down would otherwise wait out its long poll on a queue that only
   * its own process can fill.
   */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  async depth(): Promise<number> {
    this.#promote();
    return this.#ready.length - this.#head + this.#delayed.size;
  }

  /** In this process: it always answers, and takes sends even once closed. */
  async probe(): Promise<void> {}

  #take(max: number, visibilityMs: number): Delivery<T>[] {
    this.#promote();
    const deliveries: Delivery<T>[] = [];
    const deadline = this.#now() + visibilityMs;
    while (deliveries.length < max && this.#head < this.#ready.length) {
      const entry = this.#ready[this.#head] as Entry<T>;
      this.#ready[this.#head++] = undefined as never;
      deliveries.push(this.#handOut(entry, deadline));
      if (this.#duplicateRate > 0 && this.#random() < this.#duplicateRate) {
        this.#ready.push({ body: entry.body, receiveCount: entry.receiveCount });
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
      this.#ready.splice(0, this.#head);
      this.#head = 0;
    }
    return deliveries;
  }

  #handOut(entry: Entry<T>, deadline: number): Delivery<T> {
    entry.receiveCount++;
    const receipt = String(this.#nextReceipt++);
    this.#inFlight.set(receipt, { entry, deadline });
    this.#deadlines.push(deadline, receipt);
    return { receipt, body: entry.body, receiveCount: entry.receiveCount };
  }

  /** Moves delayed messages whose time has come, and unacknowledged ones whose visibility ran out, to ready. */
  #promote(): void {
    const now = this.#now();
    while ((this.#delayed.peekKey() ?? Number.POSITIVE_INFINITY) <= now)
      this.#ready.push(this.#delayed.pop() as Entry<T>);
    while ((this.#deadlines.peekKey() ?? Number.POSITIVE_INFINITY) <= now) {
      const receipt = this.#deadlines.pop() as string;
      const held = this.#inFlight.get(receipt);
      if (held === undefined || held.deadline > now) continue;
      this.#inFlight.delete(receipt);
      this.#ready.push(held.entry);
    }
  }

  #nextDue(): number | undefined {
    const delayed = this.#delayed.peekKey();
    const expiry = this.#deadlines.peekKey();
    if (delayed === undefined) return expiry;
    return expiry === undefined ? delayed : Math.min(delayed, expiry);
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.#waiters.add(done);
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
