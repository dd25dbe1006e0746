import type { IdempotencyRecord } from '../core/idempotency.ts';

/**
 * Where `Idempotency-Key`s are remembered (see `IDEMPOTENCY` in `core/idempotency.ts`). Each call is one
 * atomic step: two requests with the same key never both hold it.
 */
export interface IdempotencyStore {
  /**
   * Stores `candidate` unless a record still holds its key at `now` (`holdsKey`); returns the record that
   * holds the key afterwards: `candidate` when it was stored, the earlier one otherwise.
   */
  claim(candidate: IdempotencyRecord, now: number): Promise<IdempotencyRecord>;
  /** Records the key's job; false when `owner` no longer holds the key. */
  complete(key: string, owner: string, jobId: string): Promise<boolean>;
  /** Forgets the key, when `owner` holds it and made no job: a request that failed frees its key. */
  release(key: string, owner: string): Promise<void>;
}
