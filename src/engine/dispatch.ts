import type { LaneShares } from '../core/lanes.ts';
import type { TryLifecycle } from '../lifecycle/try-lifecycle.ts';
import type { Delivered } from '../lifecycle/try-types.ts';
import type { Delivery } from '../ports/queue.ts';
import type { JobRun } from './job-run.ts';
import { LaneQueues } from './lane-queues.ts';
import type { TaskMessage } from './messages.ts';
import type { ThreadRunner } from './threads.ts';

/** Visibility of a message being processed: far longer than any batch, so only a lost one comes back. */
export const VISIBILITY_MS = 10 * 60_000;
const IDLE_POLL_MS = 50;

/**
 * A delivery of the engine's queue as the try lifecycle takes it. Never a redelivery in the lifecycle's
 * sense: the engine sends a try's follow-up in the same process that recorded the try, so no follow-up
 * can be lost between the two, and resending one would route a second copy of the next try.
 */
export const engineDelivery = (delivery: Delivery<TaskMessage>): Delivered<TaskMessage> => ({
  id: delivery.receipt,
  message: delivery.body,
  redelivered: false,
});

export interface DispatchOptions {
  /** Tries this target runs at once: its capacity, which the balancer's load is measured against. */
  workers: number;
  /** Each lane's share of the target's slots. */
  shares: LaneShares;
  /** Fault injection for tests: the chance that the queue hands a message out twice. */
  duplicateRate: number;
  /** How many messages to take at once. */
  receiveMax(): number;
  /** Keeps the work of a delivery until it has settled, so that closing can wait for it. */
  track(work: Promise<void>): void;
}

/**
 * One target of the embedded engine: its queues, a lane each, and a loop that takes what the queue holds whenever one
 * of the target's worker slots is free and hands it to the try lifecycle. While all slots are busy the
 * queue fills, so the next receive makes a full batch: batches grow with load, and one message to a
 * thread carries many tasks.
 */
export class TargetDispatch {
  readonly queue: LaneQueues<TaskMessage>;
  readonly #lifecycle: TryLifecycle<TaskMessage, JobRun>;
  readonly #runner: ThreadRunner;
  readonly #options: DispatchOptions;
  #busy = 0;
  #wake: (() => void) | undefined;
  #closing = false;
  #loop: Promise<void> | undefined;

  constructor(lifecycle: TryLifecycle<TaskMessage, JobRun>, runner: ThreadRunner, options: DispatchOptions) {
    this.#lifecycle = lifecycle;
    this.#runner = runner;
    this.#options = options;
    this.queue = new LaneQueues<TaskMessage>(options.shares, options.duplicateRate);
  }

  get name(): string {
    return this.#lifecycle.target;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops taking messages; settles once the loop has ended (work already taken is tracked apart). */
  async stop(): Promise<void> {
    this.#closing = true;
    this.queue.close();
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#closing) {
      if (this.#busy >= this.#options.workers) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      const deliveries = await this.queue.receive(this.#options.receiveMax(), IDLE_POLL_MS, VISIBILITY_MS);
      if (deliveries.length === 0 || this.#closing) continue;
      this.#busy++;
      let freed = false;
      const free = () => {
        if (freed) return;
        freed = true;
        this.#busy--;
        this.#wake?.();
      };
      this.#options.track(this.#process(deliveries.map(engineDelivery), free).finally(free));
    }
  }

  /**
   * The slot is free once the tries have run: settling may wait (a retry waits for a breaker to let work
   * through), and the probe it waits for may be in this very queue, so the loop must go on pulling.
   */
  async #process(deliveries: Delivered<TaskMessage>[], free: () => void): Promise<void> {
    const results = await this.#lifecycle.process(
      deliveries,
      (taken) => this.#runner.run(this.name, taken),
      free,
    );
    // A delivery left unsettled (a store failed) stays unacknowledged and comes back after its visibility.
    const settled = [...results].filter(([, result]) => result !== 'retry').map(([receipt]) => receipt);
    if (settled.length > 0) await this.queue.ack(settled);
  }
}
