import { describe, expect, it } from 'vitest';
import type { BreakerSnapshot } from '../../src/core/breaker.ts';
import type { HealthStore } from '../../src/ports/health-store.ts';
import { freshSubjectPerTest } from './fresh-subject.ts';

export interface HealthStoreUnderTest {
  store: HealthStore;
  /** Deletes whatever the factory created; runs after every test. */
  cleanup?: () => Promise<void>;
}

export interface HealthStoreContractOptions {
  /** Why concurrent updates cannot be tested against this store, when they cannot. */
  concurrencyUntestableBecause?: string;
}

const closed: BreakerSnapshot = { state: 'closed', failures: 0, openedAt: 0, opened: 0 };

const oneMoreFailure = (current: BreakerSnapshot = closed): BreakerSnapshot => ({
  ...current,
  failures: current.failures + 1,
});

/** The behaviour every `HealthStore` implementation must show. Each test gets a store of its own. */
export const describeHealthStoreContract = (
  name: string,
  makeStore: () => Promise<HealthStoreUnderTest>,
  options: HealthStoreContractOptions = {},
): void => {
  describe(`HealthStore contract: ${name}`, { timeout: 30_000 }, () => {
    let store: HealthStore;

    freshSubjectPerTest(makeStore, (subject) => {
      store = subject.store;
    });

    it('reads no breakers before any was recorded', async () => {
      // Act
      const breakers = await store.read();

      // Assess
      expect(breakers.size).toBe(0);
    });

    it('hands the first update no snapshot, and stores what it returns, with its changes', async () => {
      // Prepare
      const seen: (BreakerSnapshot | undefined)[] = [];
      const opened: BreakerSnapshot = {
        state: 'open',
        failures: 3,
        openedAt: 5_000,
        changedAt: 5_000,
        opened: 1,
        changes: [{ at: 5_000, from: 'closed', to: 'open' }],
      };

      // Act
      const stored = await store.update('gcp', (current) => {
        seen.push(current);
        return opened;
      });

      // Assess
      expect(seen).toEqual([undefined]);
      expect(stored).toEqual(opened);
      expect(await store.read()).toEqual(new Map([['gcp', opened]]));
    });

    it('hands each update the snapshot stored before it, per target', async () => {
      // Prepare
      await store.update('aws', oneMoreFailure);
      await store.update('gcp', oneMoreFailure);

      // Act
      const stored = await store.update('gcp', oneMoreFailure);

      // Assess
      expect(stored.failures).toBe(2);
      const breakers = await store.read();
      expect(breakers.get('aws')?.failures).toBe(1);
      expect(breakers.get('gcp')?.failures).toBe(2);
    });

    it('keeps the stored snapshot when an update returns it unchanged', async () => {
      // Prepare
      await store.update('gcp', oneMoreFailure);

      // Act
      const stored = await store.update('gcp', (current) => current ?? closed);

      // Assess
      expect(stored.failures).toBe(1);
      expect((await store.read()).get('gcp')?.failures).toBe(1);
    });

    describe.skipIf(options.concurrencyUntestableBecause !== undefined)('atomicity', () => {
      it('applies each of 10 concurrent updates of one target exactly once', async () => {
        // Act
        await Promise.all(Array.from({ length: 10 }, () => store.update('gcp', oneMoreFailure)));

        // Assess
        expect((await store.read()).get('gcp')?.failures).toBe(10);
      });
    });
  });
};
