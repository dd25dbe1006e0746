import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { FanoutError } from '../../core/errors.ts';

/** One write waiting for its group: a synchronous read-modify-write, and the promise its caller holds. */
interface QueuedWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A write asked for after `close`: there is no database left to hold it. */
export class WriteQueueClosedError extends FanoutError {
  constructor() {
    super('the data store is closed; it takes no more writes');
    this.name = 'WriteQueueClosedError';
  }
}

/**
 * Groups the writes of one turn of the event loop into one transaction. A commit costs a WAL write
 * (and, at a checkpoint, an fsync); the engine records many tries at once, so one commit per try would
 * cost far more than the tries' own writes. Every write runs in a savepoint of its own, so a write that
 * throws (a job that does not exist) rolls back alone and rejects only its own promise.
 *
 * A write is synchronous and runs on the one connection, on the one thread, so it reads and writes its
 * row with nothing in between: that is what makes a claim atomic. A promise settles only once its group
 * is committed, so a caller that awaited a write knows it is in the database. A read runs at once and sees
 * every write whose promise has settled, not those still waiting for their group.
 */
export class WriteQueue {
  readonly #db: DatabaseSync;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;
  #waiting: QueuedWrite[] = [];
  #scheduled = false;
  #closed = false;
  #transactions = 0;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#savepoint = db.prepare('SAVEPOINT write');
    this.#release = db.prepare('RELEASE write');
    this.#rollbackTo = db.prepare('ROLLBACK TO write');
  }

  /** Transactions committed so far: how well writes were grouped. */
  get transactions(): number {
    return this.#transactions;
  }

  /** Runs `write` in the next group's transaction; its promise settles once that group is committed. */
  enqueue<T>(write: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new WriteQueueClosedError());
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ run: write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs every waiting write now, in one transaction. */
  flush(): void {
    this.#scheduled = false;
    const group = this.#waiting;
    if (group.length === 0) return;
    this.#waiting = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.#commitGroup(group);
    } catch (error) {
      // The group is lost as a whole (a full disk, an I/O error at commit): nothing of it was written,
      // and the next group starts afresh on the same connection.
      this.#rollBack();
      for (const write of group) write.reject(error);
      return;
    }
    group.forEach((write, i) => {
      const outcome = outcomes[i] as Outcome;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }

  /** Writes what is waiting and takes no more writes; the caller closes the database after. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  #commitGroup(group: readonly QueuedWrite[]): Outcome[] {
    this.#begin.run();
    const outcomes = group.map((write) => this.#runOne(write));
    this.#commit.run();
    this.#transactions++;
    return outcomes;
  }

  #runOne(write: QueuedWrite): Outcome {
    this.#savepoint.run();
    try {
      const value = write.run();
      this.#release.run();
      return { ok: true, value };
    } catch (error) {
      // SQLite may roll back the whole transaction by itself (SQLITE_FULL, SQLITE_IOERR): then the writes
      // before this one are gone too, and the group fails as one.
      if (!this.#db.isTransaction) throw error;
      this.#rollbackTo.run();
      this.#release.run();
      return { ok: false, error };
    }
  }

  #rollBack(): void {
    try {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
    } catch {
      // Nothing is left to roll back.
    }
  }
}
