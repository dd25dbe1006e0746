import { holdsKey, type IdempotencyRecord } from '../../core/idempotency.ts';
import type { IdempotencyStore } from '../../ports/idempotency-store.ts';

/** Idempotency keys in this process's memory, for the embedded engine. Each call is atomic. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, IdempotencyRecord>();

  async claim(candidate: IdempotencyRecord, now: number): Promise<IdempotencyRecord> {
    this.#forgetExpired(now);
    const held = this.#records.get(candidate.key);
    if (held !== undefined && holdsKey(held, now)) return { ...held };
    this.#records.set(candidate.key, { ...candidate });
    return { ...candidate };
  }

  async complete(key: string, owner: string, jobId: string): Promise<boolean> {
    const held = this.#records.get(key);
    if (held?.owner !== owner) return false;
    held.jobId = jobId;
    return true;
  }

  async release(key: string, owner: string): Promise<void> {
    const held = this.#records.get(key);
    if (held?.owner === owner && held.jobId === undefined) this.#records.delete(key);
  }

  /** A server runs for days: keys past their window go, as the table's TTL deletes them on the cloud. */
  #forgetExpired(now: number): void {
    for (const [key, record] of this.#records) if (record.expiresAt <= now) this.#records.delete(key);
  }
}
