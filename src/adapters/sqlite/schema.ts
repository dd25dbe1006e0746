/**
 * The tables of a Fanout data directory's database. Each record is kept whole as JSON text, as the
 * memory store keeps the object, beside the few columns a query selects or orders by: the store reads a
 * row, applies the rule of `core/task.ts` to it and writes it back, so the rules live in one place and
 * never in SQL. Tables are `WITHOUT ROWID`, keyed by what they are looked up by: one B-tree each.
 *
 * No foreign keys: the store checks that a job exists where the memory store does (and throws the same
 * `RangeError`), and `deleteJob` deletes a job's rows itself; a check on every task write would cost a
 * lookup per try for nothing.
 */

/** 'FANO': what tells a Fanout database from any other SQLite file, in the header's application id. */
export const APPLICATION_ID = 0x46_41_4e_4f;

/** The layout below; a database of any other version is refused, never migrated in place. */
export const SCHEMA_VERSION = 1;

export const CREATE_TABLES = `
  -- active: not retired yet (listActiveJobs); notified: its end notice went out (claimEndNotice).
  CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    active INTEGER NOT NULL,
    notified INTEGER NOT NULL,
    record TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX jobs_active ON jobs (created_at, job_id) WHERE active = 1;

  -- state is what listTasks filters by; no index on it: a job's tasks are one range of the key already.
  CREATE TABLE tasks (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
  ) WITHOUT ROWID;

  CREATE TABLE segments (
    job_id TEXT NOT NULL,
    first_index INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (job_id, first_index)
  ) WITHOUT ROWID;

  CREATE TABLE health (
    target TEXT PRIMARY KEY,
    snapshot TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    job_id TEXT
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_expiry ON idempotency (expires_at);
  CREATE INDEX idempotency_job ON idempotency (job_id) WHERE job_id IS NOT NULL;

  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
`;
