import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openDatabaseFile } from './database-file.ts';
import { SqliteHealthStore } from './sqlite-health-store.ts';
import { SqliteIdempotencyStore } from './sqlite-idempotency-store.ts';
import { SqliteTaskStore } from './sqlite-task-store.ts';
import { WriteQueue } from './write-queue.ts';

/**
 * Everything the embedded engine keeps across restarts, in one SQLite file of its data directory: tasks
 * and jobs, target health, idempotency keys and a few values of its own (`readMeta`). One connection and
 * one write queue serve all the stores, so the writes of one turn of the event loop, whichever store they
 * go to, share one transaction.
 *
 * The open store holds the file's lock until `close` (or the end of the process): a second process that
 * opens the same file is refused with a `DataDirError`.
 */
export class SqliteDataStore {
  readonly tasks: SqliteTaskStore;
  readonly health: SqliteHealthStore;
  readonly idempotency: SqliteIdempotencyStore;
  readonly #db: DatabaseSync;
  readonly #queue: WriteQueue;
  readonly #readMeta: StatementSync;
  readonly #writeMeta: StatementSync;
  #closing: Promise<void> | undefined;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#queue = new WriteQueue(db);
    this.tasks = new SqliteTaskStore(db, this.#queue);
    this.health = new SqliteHealthStore(db, this.#queue);
    this.idempotency = new SqliteIdempotencyStore(db, this.#queue);
    this.#readMeta = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.#writeMeta = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
  }

  /**
   * Opens the database file, creating it when absent, and takes its lock. Throws a `DataDirError` when
   * another process holds it (`locked`), it cannot be written (`not-writable`), it is not a database
   * (`corrupt`), or another program or schema version wrote it (`incompatible`); the file is left as it
   * was in each case.
   */
  static open(file: string): SqliteDataStore {
    return new SqliteDataStore(openDatabaseFile(file));
  }

  /** Write transactions committed since `open`: how well the writes were grouped. */
  get transactions(): number {
    return this.#queue.transactions;
  }

  /** A value `writeMeta` stored under `key`, as it was then; undefined when there is none. */
  readMeta<T>(key: string): T | undefined {
    const row = this.#readMeta.get(key);
    return row === undefined ? undefined : (JSON.parse(row.value as string) as T);
  }

  /** Stores a small JSON value under `key` (the engine's counts of expired jobs, say), in the next group. */
  writeMeta(key: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value);
    return this.#queue.enqueue(() => {
      this.#writeMeta.run(key, text);
    });
  }

  /**
   * Ends the lease of every task in state processing (its `leaseExpiresAt` becomes `now`) and says how
   * many. Called right after `open`: holding the lock proves the process that took those leases is gone,
   * so the claim rule (`applyClaim`: processing, lease run out) lets a resumed try take them over at once
   * rather than after the queue's visibility timeout.
   */
  releaseLeases(now: number): Promise<number> {
    return this.tasks.releaseLeases(now);
  }

  /** Writes what is waiting, then closes the database; its lock goes with it. Later calls wait for the same. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve, reject) => {
      // After the writes already waiting for this turn's group, so that every promise handed out settles.
      setImmediate(() => {
        try {
          this.#queue.close();
          this.#db.close();
          resolve();
        } catch (error) {
          reject(error);
        }
      });
    });
    return this.#closing;
  }
}
