import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Delivery, Queue } from '../../src/ports/queue.ts';
import { freshSubjectPerTest } from './fresh-subject.ts';

/** The body every message of the suite carries: plain JSON, so a cloud adapter's codec round-trips it. */
export interface ContractMessage {
  id: string;
  n: number;
}

export interface QueueUnderTest {
  queue: Queue<ContractMessage>;
  /** Deletes whatever the factory created (a cloud queue, a subscription); runs after every test. */
  cleanup?: () => Promise<void>;
}

export interface QueueContractOptions {
  /**
   * The smallest step the queue keeps visibility times, delays and long-poll waits in (SQS: 1000).
   * Every duration the suite asks for is rounded up to a multiple of it.
   * @default 1
   */
  visibilityGranularityMs?: number;
  /** How much earlier than asked a message may reappear, or an empty long poll return. @default 50 */
  earlyToleranceMs?: number;
  /**
   * How long the suite keeps receiving (or polling `depth`) for something that should happen before it
   * gives up. Only a failing test waits this long.
   * @default 5000
   */
  settleMs?: number;
  /** A queue of this kind that does not exist, for its probe to fail on. @default none: never unreachable */
  missing?: () => Queue<ContractMessage>;
}

/**
 * The behaviour every `Queue` implementation must show. Each test gets a fresh queue from `makeQueue`.
 * The suite never asks for more than 10 messages per receive (SQS's limit), keeps at most 50 messages in a
 * queue, and only asserts lower bounds on timing, so it runs against a real or emulated cloud queue too.
 */
export const describeQueueContract = (
  name: string,
  makeQueue: () => Promise<QueueUnderTest>,
  options: QueueContractOptions = {},
): void => {
  const granularity = options.visibilityGranularityMs ?? 1;
  const toleranceMs = options.earlyToleranceMs ?? 50;
  const settleMs = options.settleMs ?? 5000;
  const granular = (ms: number): number => Math.ceil(ms / granularity) * granularity;

  /** Visibility times, delays and long polls short enough to wait out in a test. */
  const VISIBILITY_MS = granular(300);
  const DELAY_MS = granular(300);
  const SHORT_WAIT_MS = granular(300);
  /** Long enough never to run out during a test: a message received with it stays handed out. */
  const HELD_MS = granular(60_000);

  describe(`Queue contract: ${name}`, { timeout: 4 * settleMs + 10 * VISIBILITY_MS }, () => {
    let queue: Queue<ContractMessage>;

    freshSubjectPerTest(makeQueue, (subject) => {
      queue = subject.queue;
    });

    const message = (n: number): ContractMessage => ({ id: `message-${n}`, n });

    /** Receives until `count` messages have come or `settleMs` has passed, however many calls it takes. */
    const receiveMessages = async (
      count: number,
      visibilityMs: number,
    ): Promise<Delivery<ContractMessage>[]> => {
      const deadline = performance.now() + settleMs;
      const deliveries: Delivery<ContractMessage>[] = [];
      while (deliveries.length < count) {
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0) break;
        const max = Math.min(10, count - deliveries.length);
        deliveries.push(...(await queue.receive({ max, waitMs: Math.min(left, 20_000), visibilityMs })));
      }
      return deliveries;
    };

    const receiveOne = async (visibilityMs: number): Promise<Delivery<ContractMessage>> => {
      const [delivery] = await receiveMessages(1, visibilityMs);
      if (delivery === undefined) throw new Error(`no message was delivered within ${settleMs} ms`);
      return delivery;
    };

    const expectDepth = (expected: number): Promise<void> =>
      expect.poll(() => queue.depth(), { timeout: settleMs, interval: 50 }).toBe(expected);

    it('delivers a sent message with its body, a receipt and a receive count of 1', async () => {
      // Prepare
      const body = message(1);

      // Act
      await queue.send([{ body }]);
      const deliveries = await receiveMessages(1, VISIBILITY_MS);

      // Assess
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]?.body).toEqual(body);
      expect(deliveries[0]?.receiveCount).toBe(1);
      expect(deliveries[0]?.receipt).toEqual(expect.any(String));
      expect(deliveries[0]?.receipt).not.toBe('');
    });

    it('hands out no more than max messages per receive', async () => {
      // Prepare
      const sent = [1, 2, 3, 4, 5].map(message);
      await queue.send(sent.map((body) => ({ body })));
      const batchSizes: number[] = [];
      const deliveries: Delivery<ContractMessage>[] = [];
      const deadline = performance.now() + settleMs;

      // Act
      while (deliveries.length < sent.length && performance.now() < deadline) {
        const batch = await queue.receive({ max: 2, waitMs: SHORT_WAIT_MS, visibilityMs: HELD_MS });
        batchSizes.push(batch.length);
        deliveries.push(...batch);
      }

      // Assess
      expect(deliveries.map((delivery) => delivery.body).sort((a, b) => a.n - b.n)).toEqual(sent);
      for (const size of batchSizes) expect(size).toBeLessThanOrEqual(2);
    });

    it('waits about waitMs on an empty queue, then returns no messages', async () => {
      // Prepare
      const startedAt = performance.now();

      // Act
      const deliveries = await queue.receive({ max: 10, waitMs: SHORT_WAIT_MS, visibilityMs: VISIBILITY_MS });
      const elapsed = performance.now() - startedAt;

      // Assess
      expect(deliveries).toEqual([]);
      expect(elapsed).toBeGreaterThanOrEqual(SHORT_WAIT_MS - toleranceMs);
    });

    it('delivers a message sent while a receiver waits to that waiting receiver', async () => {
      // Prepare
      let returned = false;
      const receiving = queue
        .receive({ max: 1, waitMs: settleMs, visibilityMs: VISIBILITY_MS })
        .finally(() => {
          returned = true;
        });
      await sleep(200);
      const returnedBeforeSend = returned;

      // Act
      await queue.send([{ body: message(1) }]);
      const deliveries = await receiving;

      // Assess
      expect(returnedBeforeSend).toBe(false);
      expect(deliveries.map((delivery) => delivery.body)).toEqual([message(1)]);
    });

    it('never hands out an acknowledged message again, even after its visibility would have run out', async () => {
      // Prepare
      await queue.send([{ body: message(1) }]);
      const delivery = await receiveOne(VISIBILITY_MS);

      // Act
      await queue.ack([delivery.receipt]);
      const later = await queue.receive({ max: 10, waitMs: 3 * VISIBILITY_MS, visibilityMs: VISIBILITY_MS });

      // Assess
      expect(later).toEqual([]);
      await expectDepth(0);
    });

    it('hands an unacknowledged message out again once its visibility runs out, with receive count 2', async () => {
      // Prepare
      await queue.send([{ body: message(1) }]);
      const startedAt = performance.now();
      const first = await receiveMessages(1, VISIBILITY_MS);

      // Act
      const second = await receiveMessages(1, HELD_MS);
      const elapsed = performance.now() - startedAt;

      // Assess
      expect(first.map((delivery) => delivery.receiveCount)).toEqual([1]);
      expect(second).toHaveLength(1);
      expect(second[0]?.body).toEqual(message(1));
      expect(second[0]?.receiveCount).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(VISIBILITY_MS - toleranceMs);
    });

    it('makes a message released with delay 0 visible again at once, long before its visibility runs out', async () => {
      // Prepare
      await queue.send([{ body: message(1) }]);
      const delivery = await receiveOne(HELD_MS);

      // Act
      await queue.release(delivery.receipt, 0);
      const again = await receiveMessages(1, HELD_MS);

      // Assess
      expect(again).toHaveLength(1);
      expect(again[0]?.body).toEqual(message(1));
      expect(again[0]?.receiveCount).toBe(2);
    });

    it('keeps a message released with a delay hidden for about that delay', async () => {
      // Prepare
      await queue.send([{ body: message(1) }]);
      const delivery = await receiveOne(HELD_MS);
      const startedAt = performance.now();

      // Act
      await queue.release(delivery.receipt, DELAY_MS);
      const again = await receiveMessages(1, HELD_MS);
      const elapsed = performance.now() - startedAt;

      // Assess
      expect(again).toHaveLength(1);
      expect(again[0]?.body).toEqual(message(1));
      expect(again[0]?.receiveCount).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(DELAY_MS - toleranceMs);
    });

    it('keeps a message sent with delayMs hidden for about that delay, without delaying those sent with it', async () => {
      // Prepare
      const startedAt = performance.now();

      // Act
      await queue.send([{ body: message(1), delayMs: DELAY_MS }, { body: message(2) }]);
      const first = await receiveMessages(1, HELD_MS);
      const second = await receiveMessages(1, HELD_MS);
      const elapsed = performance.now() - startedAt;

      // Assess
      expect(first.map((delivery) => delivery.body)).toEqual([message(2)]);
      expect(second.map((delivery) => delivery.body)).toEqual([message(1)]);
      expect(elapsed).toBeGreaterThanOrEqual(DELAY_MS - toleranceMs);
    });

    it('counts sent messages in depth, delayed ones included', async () => {
      // Prepare
      const depthBefore = await queue.depth();

      // Act
      await queue.send([{ body: message(1) }, { body: message(2) }, { body: message(3), delayMs: HELD_MS }]);

      // Assess
      expect(depthBefore).toBe(0);
      await expectDepth(3);
    });

    it('does not count handed-out messages in depth', async () => {
      // Prepare
      await queue.send([1, 2, 3].map((n) => ({ body: message(n) })));

      // Act
      const deliveries = await receiveMessages(2, HELD_MS);

      // Assess
      expect(deliveries).toHaveLength(2);
      await expectDepth(1);
    });

    // Not one released with a delay: SQS counts that as handed out until the delay has passed.
    it('counts a message released with no delay in depth again', async () => {
      // Prepare
      await queue.send([{ body: message(1) }, { body: message(2) }]);
      const [released, held] = await receiveMessages(2, HELD_MS);
      if (released === undefined || held === undefined)
        throw new Error('the messages sent were not delivered');

      // Act
      await queue.release(released.receipt, 0);

      // Assess
      await expectDepth(1);
    });

    it('counts an unacknowledged message in depth again once its visibility runs out', async () => {
      // Prepare
      await queue.send([{ body: message(1) }]);
      const deliveries = await receiveMessages(1, VISIBILITY_MS);
      expect(deliveries).toHaveLength(1);

      // Act
      await sleep(VISIBILITY_MS + toleranceMs);

      // Assess
      await expectDepth(1);
    });

    it('answers a probe without handing out or hiding any message', async () => {
      // Prepare
      await queue.send([{ body: message(1) }]);

      // Act
      await queue.probe();
      const deliveries = await receiveMessages(1, VISIBILITY_MS);

      // Assess
      expect(deliveries.map((delivery) => [delivery.body, delivery.receiveCount])).toEqual([[message(1), 1]]);
    });

    it.runIf(options.missing)('fails a probe of a queue that does not exist', async () => {
      // Prepare
      const missing = (options.missing as () => Queue<ContractMessage>)();

      // Act
      const probed = missing.probe();

      // Assess
      await expect(probed).rejects.toThrow();
    });

    it('neither loses nor duplicates any of 50 messages sent in batches', async () => {
      // Prepare
      const sent = Array.from({ length: 50 }, (_, n) => message(n));
      const batches = Array.from({ length: 5 }, (_, b) => sent.slice(b * 10, b * 10 + 10));
      await Promise.all(batches.map((batch) => queue.send(batch.map((body) => ({ body })))));

      // Act
      const deliveries = await receiveMessages(sent.length, HELD_MS);
      await queue.ack(deliveries.map((delivery) => delivery.receipt));
      const leftOver = await queue.receive({ max: 10, waitMs: SHORT_WAIT_MS, visibilityMs: VISIBILITY_MS });

      // Assess
      expect(deliveries.map((delivery) => delivery.body).sort((a, b) => a.n - b.n)).toEqual(sent);
      expect(leftOver).toEqual([]);
      await expectDepth(0);
    });
  });
};
