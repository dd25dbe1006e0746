import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { holdsKey, type IdempotencyRecord } from '../../core/idempotency.ts';
import type { IdempotencyStore } from '../../ports/idempotency-store.ts';
import type { Row } from './sqlite-job-ledger.ts';
import type { WriteQueue } from './write-queue.ts';

const recordOf = (row: Row): IdempotencyRecord => {
  const record: IdempotencyRecord = {
    key: String(row.key),
    fingerprint: String(row.fingerprint),
    owner: String(row.owner),
    leaseUntil: Number(row.lease_until),
    expiresAt: Number(row.expires_at),
  };
  if (row.job_id !== null && row.job_id !== undefined) record.jobId = String(row.job_id);
  return record;
};

/**
 * Idempotency keys in a data directory's database, with the memory store's semantics: a client that
 * repeats a `POST /jobs` after the server restarted gets the job it made before, not a second one. Each
 * call is one step of the write queue, so two requests with the same key never both hold it.
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  readonly #queue: WriteQueue;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #complete: StatementSync;
  readonly #release: StatementSync;
  readonly #forgetJob: StatementSync;
  readonly #forgetExpired: StatementSync;

  constructor(db: DatabaseSync, queue: WriteQueue) {
    this.#queue = queue;
    this.#select = db.prepare('SELECT * FROM idempotency WHERE key = ?');
    this.#upsert = db.prepare(
      `INSERT OR REPLACE INTO idempotency (key, fingerprint, owner, lease_until, expires_at, job_id)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#complete = db.prepare('UPDATE idempotency SET job_id = ? WHERE key = ? AND owner = ?');
    this.#release = db.prepare('DELETE FROM idempotency WHERE key = ? AND owner = ? AND job_id IS NULL');
    this.#forgetJob = db.prepare('DELETE FROM idempotency WHERE job_id = ?');
    this.#forgetExpired = db.prepare('DELETE FROM idempotency WHERE expires_at <= ?');
  }

  claim(candidate: IdempotencyRecord, now: number): Promise<IdempotencyRecord> {
    return this.#queue.enqueue(() => {
      // A server runs for days: keys past their window go, as the table's TTL deletes them on the cloud.
      this.#forgetExpired.run(now);
      const row = this.#select.get(candidate.key);
      const held = row === undefined ? undefined : recordOf(row);
      if (held !== undefined && holdsKey(held, now)) return held;
      const { key, fingerprint, owner, leaseUntil, expiresAt, jobId } = candidate;
      this.#upsert.run(key, fingerprint, owner, leaseUntil, expiresAt, jobId ?? null);
      return { ...candidate };
    });
  }

  complete(key: string, owner: string, jobId: string): Promise<boolean> {
    return this.#queue.enqueue(() => Number(this.#complete.run(jobId, key, owner).changes) === 1);
  }

  async release(key: string, owner: string): Promise<void> {
    await this.#queue.enqueue(() => this.#release.run(key, owner));
  }

  /** Forgets the key that made `jobId`, once the job itself has expired: a repeat then starts a new job. */
  async forgetJob(jobId: string): Promise<void> {
    await this.#queue.enqueue(() => this.#forgetJob.run(jobId));
  }
}
