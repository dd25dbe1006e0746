import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isDeepStrictEqual } from 'node:util';
import type { BreakerSnapshot } from '../../core/breaker.ts';
import type { HealthStore } from '../../ports/health-store.ts';
import type { WriteQueue } from './write-queue.ts';

/**
 * Each target's breaker in a data directory's database: a server that restarts during an outage keeps
 * the target out of rotation instead of sending it a full load again. `update` reads, changes and writes
 * in one step of the write queue, so `change` runs once; a breaker that did not change is not written.
 */
export class SqliteHealthStore implements HealthStore {
  readonly #queue: WriteQueue;
  readonly #all: StatementSync;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;

  constructor(db: DatabaseSync, queue: WriteQueue) {
    this.#queue = queue;
    this.#all = db.prepare('SELECT target, snapshot FROM health');
    this.#select = db.prepare('SELECT snapshot FROM health WHERE target = ?');
    this.#upsert = db.prepare(
      `INSERT INTO health (target, snapshot) VALUES (?, ?)
       ON CONFLICT (target) DO UPDATE SET snapshot = excluded.snapshot`,
    );
  }

  async read(): Promise<Map<string, BreakerSnapshot>> {
    return new Map(
      this.#all
        .all()
        .map((row) => [String(row.target), JSON.parse(row.snapshot as string) as BreakerSnapshot]),
    );
  }

  update(target: string, change: (current?: BreakerSnapshot) => BreakerSnapshot): Promise<BreakerSnapshot> {
    return this.#queue.enqueue(() => {
      const row = this.#select.get(target);
      const current = row === undefined ? undefined : (JSON.parse(row.snapshot as string) as BreakerSnapshot);
      const next = change(current);
      if (!isDeepStrictEqual(next, current)) this.#upsert.run(target, JSON.stringify(next));
      return next;
    });
  }
}
