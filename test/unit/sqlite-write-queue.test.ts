import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WriteQueue, WriteQueueClosedError } from '../../src/adapters/sqlite/write-queue.ts';

let dir: string;
let db: DatabaseSync;
let queue: WriteQueue;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-write-queue-'));
  db = new DatabaseSync(join(dir, 'queue.db'));
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec(`
    CREATE TABLE parents (id INTEGER PRIMARY KEY);
    CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT);
    -- Checked at COMMIT, not at the statement: what lets a test make a commit fail.
    CREATE TABLE children (
      id INTEGER PRIMARY KEY,
      parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED
    );
  `);
  queue = new WriteQueue(db);
});

afterEach(async () => {
  if (db.isOpen) db.close();
  await rm(dir, { recursive: true, force: true });
});

const insertItem =
  (id: number, body = `item ${id}`) =>
  () => {
    db.prepare('INSERT INTO items (id, body) VALUES (?, ?)').run(id, body);
    return id;
  };

const itemIds = (): number[] =>
  db
    .prepare('SELECT id FROM items ORDER BY id')
    .all()
    .map((row) => Number(row.id));

describe('WriteQueue', () => {
  it('commits the writes of one turn of the event loop in one transaction', async () => {
    // Prepare
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);

    // Act
    const results = await Promise.all(ids.map((id) => queue.enqueue(insertItem(id))));

    // Assess
    expect(results).toEqual(ids);
    expect(itemIds()).toEqual(ids);
    expect(queue.transactions).toBe(1);
  });

  it('starts a new group for writes asked for after a group was flushed', async () => {
    // Act
    await queue.enqueue(insertItem(1));
    await queue.enqueue(insertItem(2));

    // Assess
    expect(queue.transactions).toBe(2);
  });

  it('rejects only the write that threw, rolling back what it wrote, and commits the others', async () => {
    // Prepare: a write that writes a row, then throws
    const failing = () => {
      insertItem(50)();
      throw new RangeError('job x does not exist');
    };

    // Act
    const settled = await Promise.allSettled([
      queue.enqueue(insertItem(1)),
      queue.enqueue(failing),
      queue.enqueue(insertItem(2)),
      queue.enqueue(insertItem(1)), // a primary key taken by the first: SQLite's own error
      queue.enqueue(insertItem(3)),
    ]);

    // Assess
    expect(settled.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(itemIds()).toEqual([1, 2, 3]);
    expect(queue.transactions).toBe(1);
  });

  it('rejects every write of a group whose commit fails, writes none of it, and goes on working', async () => {
    // Prepare: a child whose parent does not exist fails the deferred check at COMMIT
    const orphan = () => db.prepare('INSERT INTO children (id, parent) VALUES (1, 99)').run();

    // Act
    const settled = await Promise.allSettled([
      queue.enqueue(insertItem(1)),
      queue.enqueue(orphan),
      queue.enqueue(insertItem(2)),
    ]);
    const after = await queue.enqueue(insertItem(3));

    // Assess
    expect(settled.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((settled[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(after).toBe(3);
    expect(itemIds()).toEqual([3]);
    expect(db.isTransaction).toBe(false);
  });

  it('keeps what it promised when the disk fills up: every write it resolved is stored, no other', async () => {
    // Prepare: the file may not grow past its size now (SQLITE_FULL)
    await queue.enqueue(insertItem(1));
    const pages = Number(db.prepare('PRAGMA page_count').get()?.page_count);
    db.exec(`PRAGMA max_page_count = ${pages}`);
    const big = 'x'.repeat(64 * 1024);

    // Act
    const settled = await Promise.allSettled([
      queue.enqueue(insertItem(2, 'small')),
      queue.enqueue(insertItem(3, big)),
      queue.enqueue(insertItem(4, 'small')),
    ]);
    db.exec(`PRAGMA max_page_count = ${pages * 100}`);
    const after = await queue.enqueue(insertItem(5, big));

    // Assess
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/full/);
    const resolved = settled.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i + 2] : []));
    expect(itemIds()).toEqual([1, ...resolved, 5]);
    expect(after).toBe(5);
  });

  it('writes what is waiting when it closes, and refuses writes after', async () => {
    // Prepare
    const waiting = queue.enqueue(insertItem(1));

    // Act
    queue.close();
    const late = queue.enqueue(insertItem(2));

    // Assess
    await expect(waiting).resolves.toBe(1);
    await expect(late).rejects.toBeInstanceOf(WriteQueueClosedError);
    expect(itemIds()).toEqual([1]);
  });
});
