import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY, type IdempotencyRecord } from '../../src/core/idempotency.ts';
import type { IdempotencyStore } from '../../src/ports/idempotency-store.ts';
import { freshSubjectPerTest } from './fresh-subject.ts';

export interface IdempotencyStoreUnderTest {
  store: IdempotencyStore;
  cleanup?: () => Promise<void>;
}

const T0 = 1_700_000_000_000;

const request = (key: string, owner: string, at = T0, fingerprint = 'body-a'): IdempotencyRecord => ({
  key,
  fingerprint,
  owner,
  leaseUntil: at + IDEMPOTENCY.leaseMs,
  expiresAt: at + IDEMPOTENCY.windowMs,
});

/** What every `IdempotencyStore` does: one holder per key, a lease for a request that dies, a window. */
export const describeIdempotencyStoreContract = (
  name: string,
  makeStore: () => Promise<IdempotencyStoreUnderTest>,
): void => {
  describe(`${name} as an idempotency store`, () => {
    let store: IdempotencyStore;
    freshSubjectPerTest(makeStore, (made) => {
      store = made.store;
    });

    it('gives a new key to its first request', async () => {
      // Prepare
      const key = randomUUID();

      // Act
      const held = await store.claim(request(key, 'first'), T0);

      // Assess
      expect(held).toEqual(request(key, 'first'));
    });

    it('answers a second request with the first one while it stores, then with its job', async () => {
      // Prepare
      const key = randomUUID();
      await store.claim(request(key, 'first'), T0);

      // Act
      const whileStoring = await store.claim(request(key, 'second', T0 + 1000), T0 + 1000);
      const completed = await store.complete(key, 'first', 'job-1');
      const afterwards = await store.claim(request(key, 'third', T0 + 2000), T0 + 2000);

      // Assess
      expect(whileStoring).toMatchObject({ owner: 'first', fingerprint: 'body-a' });
      expect(whileStoring.jobId).toBeUndefined();
      expect(completed).toBe(true);
      expect(afterwards).toMatchObject({ owner: 'first', jobId: 'job-1' });
    });

    it('keeps a key with its job past the lease, and forgets it after the window', async () => {
      // Prepare
      const key = randomUUID();
      await store.claim(request(key, 'first'), T0);
      await store.complete(key, 'first', 'job-1');
      const afterLease = T0 + IDEMPOTENCY.leaseMs + 1;
      const afterWindow = T0 + IDEMPOTENCY.windowMs + 1000;

      // Act
      const inWindow = await store.claim(request(key, 'second', afterLease), afterLease);
      const pastWindow = await store.claim(request(key, 'third', afterWindow), afterWindow);

      // Assess
      expect(inWindow).toMatchObject({ owner: 'first', jobId: 'job-1' });
      expect(pastWindow).toEqual(request(key, 'third', afterWindow));
    });

    it('frees a key whose request died before making its job, once its lease ran out', async () => {
      // Prepare
      const key = randomUUID();
      await store.claim(request(key, 'dead'), T0);
      const later = T0 + IDEMPOTENCY.leaseMs + 1;

      // Act
      const held = await store.claim(request(key, 'retry', later), later);
      const lateCompletion = await store.complete(key, 'dead', 'job-of-the-dead');

      // Assess
      expect(held).toEqual(request(key, 'retry', later));
      expect(lateCompletion).toBe(false);
    });

    it('frees a key its holder released, but not one that has its job', async () => {
      // Prepare
      const [released, made] = [randomUUID(), randomUUID()];
      await store.claim(request(released, 'first'), T0);
      await store.claim(request(made, 'first'), T0);
      await store.complete(made, 'first', 'job-1');

      // Act
      await store.release(released, 'someone-else');
      const stillHeld = await store.claim(request(released, 'second'), T0 + 1);
      await store.release(released, 'first');
      await store.release(made, 'first');
      const freed = await store.claim(request(released, 'third'), T0 + 2);
      const kept = await store.claim(request(made, 'fourth'), T0 + 3);

      // Assess
      expect(stillHeld.owner).toBe('first');
      expect(freed.owner).toBe('third');
      expect(kept).toMatchObject({ owner: 'first', jobId: 'job-1' });
    });

    it('keeps the fingerprint of the first request, so that another body can be told apart', async () => {
      // Prepare
      const key = randomUUID();
      await store.claim(request(key, 'first', T0, 'body-a'), T0);

      // Act
      const held = await store.claim(request(key, 'second', T0 + 1, 'body-b'), T0 + 1);

      // Assess
      expect(held).toMatchObject({ owner: 'first', fingerprint: 'body-a' });
    });
  });
};
