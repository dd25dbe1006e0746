import { MemoryQueue } from '../adapters/local/memory-queue.ts';
import { PRIORITIES, type Priority } from '../core/constants.ts';
import { LaneScheduler, type LaneShares } from '../core/lanes.ts';
import type { Delivery, OutgoingMessage } from '../ports/queue.ts';

const SEPARATOR = ':';

/**
 * One engine target's queues, a lane each, and the scheduler that chooses which lane a free slot takes
 * from (see `LaneScheduler`). A delivery's receipt names its lane, so that acknowledging finds its queue.
 */
export class LaneQueues<T> {
  readonly #lanes: Record<Priority, MemoryQueue<T>>;
  readonly #scheduler: LaneScheduler;

  constructor(shares: LaneShares, duplicateRate: number) {
    const queue = () => new MemoryQueue<T>({ duplicateRate });
    this.#lanes = { high: queue(), medium: queue(), low: queue() };
    this.#scheduler = new LaneScheduler(shares);
  }

  send(lane: Priority, messages: readonly OutgoingMessage<T>[]): Promise<void> {
    return this.#lanes[lane].send(messages);
  }

  /**
   * Up to `max` messages of the one lane the scheduler chooses among those with messages visible; when
   * none has, waits up to `waitMs` for one to have, then chooses.
   */
  async receive(max: number, waitMs: number, visibilityMs: number): Promise<Delivery<T>[]> {
    let counts = await this.#visible(0);
    if (counts.every((count) => count === 0) && waitMs > 0) counts = await this.#visible(waitMs);
    const waiting = PRIORITIES.filter((_, i) => (counts[i] as number) > 0);
    const lane = this.#scheduler.next(waiting);
    if (lane === undefined) return [];
    const deliveries = await this.#lanes[lane].receive({ max, waitMs: 0, visibilityMs });
    this.#scheduler.served(lane, deliveries.length, waiting);
    return deliveries.map((d) => ({ ...d, receipt: `${lane}${SEPARATOR}${d.receipt}` }));
  }

  async ack(receipts: readonly string[]): Promise<void> {
    const byLane = new Map<Priority, string[]>();
    for (const receipt of receipts) {
      const [lane, own] = this.#split(receipt);
      byLane.set(lane, [...(byLane.get(lane) ?? []), own]);
    }
    await Promise.all([...byLane].map(([lane, own]) => this.#lanes[lane].ack(own)));
  }

  release(receipt: string, delayMs: number): Promise<void> {
    const [lane, own] = this.#split(receipt);
    return this.#lanes[lane].release(own, delayMs);
  }

  /** Messages waiting in each lane, as `Queue.depth` counts them. */
  async depths(): Promise<Record<Priority, number>> {
    const depths = await Promise.all(PRIORITIES.map((lane) => this.#lanes[lane].depth()));
    return Object.fromEntries(PRIORITIES.map((lane, i) => [lane, depths[i]])) as Record<Priority, number>;
  }

  /** In this process: it always answers. */
  async probe(): Promise<void> {}

  close(): void {
    for (const lane of PRIORITIES) this.#lanes[lane].close();
  }

  /** Each lane's visible messages, highest lane first: at once, or once any lane has one or `waitMs` passed. */
  async #visible(waitMs: number): Promise<number[]> {
    if (waitMs === 0) return Promise.all(PRIORITIES.map((lane) => this.#lanes[lane].visible()));
    await Promise.race(PRIORITIES.map((lane) => this.#lanes[lane].visible(waitMs)));
    return this.#visible(0);
  }

  #split(receipt: string): [Priority, string] {
    const at = receipt.indexOf(SEPARATOR);
    return [receipt.slice(0, at) as Priority, receipt.slice(at + 1)];
  }
}
