import { holdsKey, type IdempotencyRecord } from '../../core/idempotency.ts';
import type { IdempotencyStore } from '../../ports/idempotency-store.ts';

/** Idempotency keys in this process's memory, for the embedded engine. Each call is atomic. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, IdempotencyRecord>();
  /** The key that made each job, so that a job that expires takes its key along. */
  readonly #keyOfJob = new Map<string, string>();

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
    this.#keyOfJob.set(jobId, key);
    return true;
  }

  async release(key: string, owner: string): Promise<void> {
    const held = this.#records.get(key);
    if (held?.owner === owner && held.jobId === undefined) this.#records.delete(key);
  }

  /** Forgets the key that made `jobId`, once the job itself has expired: a repeat then starts a new job. */
  forgetJob(jobId: string): void {
    const key = this.#keyOfJob.get(jobId);
    this.#keyOfJob.delete(jobId);
    if (key !== undefined && this.#records.get(key)?.jobId === jobId) this.#records.delete(key);
  }

  /** A server runs for days: keys past their window go, as the table's TTL deletes them on the cloud. */
  #forgetExpired(now: number): void {
    for (const [key, record] of this.#records) {
      if (record.expiresAt > now) continue;
      this.#records.delete(key);
      if (record.jobId !== undefined) this.#keyOfJob.delete(record.jobId);
    }
  }
}
