import { describe, expect, it } from 'vitest';
import { MemoryHealthStore } from '../../src/adapters/local/memory-health-store.ts';
import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { type Dispatch, type Route, Router } from '../../src/cloud/router.ts';
import { TargetHealth } from '../../src/cloud/target-health.ts';
import { Balancer } from '../../src/core/balancer.ts';
import type { BreakerSnapshot } from '../../src/core/breaker.ts';
import { TargetUnavailableError } from '../../src/core/errors.ts';
import type { OutgoingMessage } from '../../src/ports/queue.ts';
import { drain, TARGETS } from '../support/cloud.ts';
import { LIST_COSTING } from '../support/costing.ts';
import { everyLane } from '../support/lanes.ts';

/** A queue whose service stopped answering: every send fails, as a publish that timed out does. */
class DownQueue extends MemoryQueue<ChunkMessage> {
  override async send(_messages: readonly OutgoingMessage<ChunkMessage>[]): Promise<void> {
    throw new Error('deadline exceeded');
  }
}

/** The real memory store, counting its reads and its writes. */
class CountingHealthStore extends MemoryHealthStore {
  reads = 0;
  writes = 0;

  override async read(): Promise<Map<string, BreakerSnapshot>> {
    this.reads++;
    return super.read();
  }

  override async update(
    target: string,
    change: (current?: BreakerSnapshot) => BreakerSnapshot,
  ): Promise<BreakerSnapshot> {
    const before = (await super.read()).get(target);
    const after = await super.update(target, change);
    if (after !== before) this.writes++;
    return after;
  }
}

const clock = { now: 1_000_000 };

/** A medium job over both targets, round robin. */
const ROUND_ROBIN: Dispatch = { targets: TARGETS, strategy: 'round_robin', priority: 'medium' };

/** A router over both targets, on its own balancer (as each function has), sharing `store`. */
const routerOver = (
  queues: Record<'aws' | 'gcp', MemoryQueue<ChunkMessage>>,
  store: MemoryHealthStore,
  refreshMs = 1000,
) => {
  const balancer = new Balancer(
    TARGETS.map((name) => ({ name, weight: 1, capacity: 1 })),
    { strategy: 'round_robin', rebalanceThreshold: 0.3 },
    { failureThreshold: 3, resetTimeoutMs: 2000, halfOpenProbes: 1 },
    { now: () => clock.now },
  );
  const health = new TargetHealth(balancer, { store, refreshMs, now: () => clock.now });
  const lanes = Object.entries(queues).map(([target, queue]) => [target, everyLane(queue)] as const);
  return { router: new Router(balancer, new Map(lanes), health, LIST_COSTING), balancer };
};

const routes = (count: number): Route[] =>
  Array.from({ length: count }, (_, index) => ({
    message: {
      jobId: 'job-a',
      index,
      attempt: 1,
      routedAt: 0,
      sha256: 'a'.repeat(64),
      bytes: 1,
      input: `in#${index}`,
    },
  }));

const failures = (count: number) =>
  Array.from({ length: count }, () => ({ outcome: 'failure' as const, sentAt: clock.now }));

describe('Router: a queue that refuses sends', () => {
  it("sends the tries it refused to the other target, and counts them against the target's breaker", async () => {
    // Prepare
    const queues = { aws: new MemoryQueue<ChunkMessage>(), gcp: new DownQueue() };
    const store = new MemoryHealthStore();
    const { router, balancer } = routerOver(queues, store);

    // Act
    await router.send(routes(6), ROUND_ROBIN);

    // Assess
    const sent = await drain(queues.aws);
    expect(sent.map((m) => m.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(balancer.breaker('gcp').state).toBe('open');
    expect((await store.read()).get('gcp')?.state).toBe('open');
  });

  it('fails with TargetUnavailableError when every target refuses', async () => {
    // Prepare
    const queues = { aws: new DownQueue(), gcp: new DownQueue() };
    const { router } = routerOver(queues, new MemoryHealthStore());

    // Act
    const sending = router.send(routes(2), ROUND_ROBIN);

    // Assess
    await expect(sending).rejects.toBeInstanceOf(TargetUnavailableError);
  });

  it('names every target that refused, though it tried them one after the other', async () => {
    // Prepare
    const queues = { aws: new DownQueue(), gcp: new DownQueue() };
    const { router } = routerOver(queues, new MemoryHealthStore());

    // Act
    const sending = router.send(routes(1), ROUND_ROBIN);

    // Assess
    await expect(sending).rejects.toThrow('target aws, gcp is unavailable');
  });
});

describe('Router: breakers shared across functions', () => {
  it('stops routing to a target that another function saw fail, at its next refresh', async () => {
    // Prepare
    const store = new MemoryHealthStore();
    const queues = { aws: new MemoryQueue<ChunkMessage>(), gcp: new MemoryQueue<ChunkMessage>() };
    const ingest = routerOver(queues, store);
    const gcpProcessor = routerOver(queues, store);
    await ingest.router.send(routes(2), ROUND_ROBIN);
    await drain(queues.aws);
    await drain(queues.gcp);

    // Act
    await gcpProcessor.router.record('gcp', failures(3));
    clock.now += 1000;
    await ingest.router.send(routes(4), ROUND_ROBIN);

    // Assess
    expect(await drain(queues.gcp)).toEqual([]);
    expect(await drain(queues.aws)).toHaveLength(4);
  });

  it('sends one probe to a half-open target per refresh, and routes to it again once the probe succeeds', async () => {
    // Prepare
    const store = new MemoryHealthStore();
    const queues = { aws: new MemoryQueue<ChunkMessage>(), gcp: new MemoryQueue<ChunkMessage>() };
    const ingest = routerOver(queues, store);
    const gcpProcessor = routerOver(queues, store);
    await gcpProcessor.router.record('gcp', failures(3));
    clock.now += 2000;

    // Act
    await ingest.router.send(routes(6), ROUND_ROBIN);
    const probes = await drain(queues.gcp);
    await gcpProcessor.router.record('gcp', [{ outcome: 'success', sentAt: probes[0]?.routedAt ?? 0 }]);
    clock.now += 1000;
    await drain(queues.aws);
    await ingest.router.send(routes(6), ROUND_ROBIN);

    // Assess
    expect(probes).toHaveLength(1);
    expect(await drain(queues.gcp)).toHaveLength(3);
  });
});

describe('TargetHealth', () => {
  it('records a probe that succeeded on a breaker this function last saw closed: another one opened it', async () => {
    // Prepare
    const store = new MemoryHealthStore();
    const queues = { aws: new MemoryQueue<ChunkMessage>(), gcp: new MemoryQueue<ChunkMessage>() };
    const ingest = routerOver(queues, store);
    const gcpProcessor = routerOver(queues, store);
    await gcpProcessor.router.record('gcp', [{ outcome: 'success', sentAt: clock.now }]);
    await ingest.router.record('gcp', failures(3));
    clock.now += 2000;
    await ingest.router.send(routes(2), ROUND_ROBIN);
    const [probe] = await drain(queues.gcp);

    // Act
    clock.now += 1000;
    await gcpProcessor.router.record('gcp', [{ outcome: 'success', sentAt: probe?.routedAt ?? 0 }]);

    // Assess
    expect(probe).toBeDefined();
    expect((await store.read()).get('gcp')?.state).toBe('closed');
  });

  it('writes nothing for successes on a quiet breaker, and writes a failure', async () => {
    // Prepare
    const store = new CountingHealthStore();
    const queues = { aws: new MemoryQueue<ChunkMessage>(), gcp: new MemoryQueue<ChunkMessage>() };
    const { router } = routerOver(queues, store);
    const successes = Array.from({ length: 50 }, () => ({ outcome: 'success' as const, sentAt: clock.now }));

    // Act
    await router.record('aws', successes);
    const quiet = store.writes;
    await router.record('aws', failures(1));

    // Assess
    expect(quiet).toBe(0);
    expect(store.writes).toBe(1);
    expect((await store.read()).get('aws')?.failures).toBe(1);
  });

  it('reads the store at most once per refresh interval', async () => {
    // Prepare
    const store = new CountingHealthStore();
    const queues = { aws: new MemoryQueue<ChunkMessage>(), gcp: new MemoryQueue<ChunkMessage>() };
    const { router } = routerOver(queues, store, 1000);

    // Act
    for (let i = 0; i < 5; i++) await router.send(routes(1), ROUND_ROBIN);
    const withinInterval = store.reads;
    clock.now += 1000;
    await router.send(routes(1), ROUND_ROBIN);

    // Assess
    expect(withinInterval).toBe(1);
    expect(store.reads).toBe(2);
  });
});
