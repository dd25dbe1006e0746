import { accessSync, constants, existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { DataDirError } from './errors.ts';
import { APPLICATION_ID, CREATE_TABLES, SCHEMA_VERSION } from './schema.ts';

/** SQLite's primary result codes that say why a database could not be used (the low byte of `errcode`). */
const SQLITE_PERM = 3;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_READONLY = 8;
const SQLITE_CORRUPT = 11;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

/** A WAL that grew past this in a burst of writes is cut back to it at the next checkpoint. */
const WAL_SIZE_LIMIT = 32 * 1024 * 1024;

const START_CLEAN =
  'give fanout another --data-dir, or remove the directory to start clean (its jobs are lost)';

/** The header fields that say whose database a file is, and whether it has any tables yet. */
interface Identity {
  applicationId: number;
  userVersion: number;
  tables: number;
}

const pragmaNumber = (db: DatabaseSync, name: string): number =>
  Number(Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0] ?? 0);

const identityOf = (db: DatabaseSync): Identity => ({
  applicationId: pragmaNumber(db, 'application_id'),
  userVersion: pragmaNumber(db, 'user_version'),
  tables: Number(db.prepare('SELECT count(*) AS n FROM sqlite_schema').get()?.n ?? 0),
});

/** Why a database that is not new cannot be used; undefined when it is Fanout's, of this schema version. */
const incompatibility = (file: string, found: Identity): DataDirError | undefined => {
  if (found.applicationId === APPLICATION_ID && found.userVersion === SCHEMA_VERSION) return undefined;
  const detail =
    found.applicationId === APPLICATION_ID
      ? `holds a Fanout database of schema version ${found.userVersion}, and this fanout reads version ${SCHEMA_VERSION} only`
      : 'is an SQLite database that Fanout did not write';
  return new DataDirError(file, 'incompatible', `${detail}; ${START_CLEAN}`);
};

const notWritable = (file: string, options: ErrorOptions): DataDirError =>
  new DataDirError(
    file,
    'not-writable',
    'cannot be opened for writing; make it and its directory writable, or give fanout another --data-dir',
    options,
  );

/** What an SQLite error at open means to the person who chose the path; other errors pass unchanged. */
const dataDirError = (file: string, error: unknown): unknown => {
  if (error instanceof DataDirError) return error;
  const options = { cause: error };
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') return notWritable(file, options);
  switch (Number((error as { errcode?: unknown }).errcode) & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return new DataDirError(
        file,
        'locked',
        'another fanout process uses this database; stop it first, or give this one another --data-dir',
        options,
      );
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return new DataDirError(file, 'corrupt', `is not a database, or is damaged; ${START_CLEAN}`, options);
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return notWritable(file, options);
    default:
      return error;
  }
};

/** Makes the tables of a new database, with the header fields that identify it, in one transaction. */
const createSchema = (db: DatabaseSync): void => {
  // Auto-vacuum is fixed once a transaction has read the file (the one that took the lock did), so it
  // is set by rebuilding the empty database; that also serves a file left empty by a crash half-way here.
  db.exec('PRAGMA auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(CREATE_TABLES);
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
};

/**
 * Opens (creating when absent) a data directory's database for this process alone, or throws a
 * `DataDirError` having written nothing to it.
 *
 * The lock is SQLite's own: in `locking_mode=EXCLUSIVE` a connection keeps the file locks it takes until
 * it closes, and the first transaction takes the write lock. The operating system drops the lock with
 * the process, however it ends (SIGKILL too), so there is never a stale lock file to clear by hand. With
 * `busy_timeout` 0 a second process fails at once with SQLITE_BUSY rather than waiting for a lock that a
 * server holds for days.
 *
 * The file is identified inside the same transaction that takes the lock, and that transaction writes
 * nothing: a database of another program or schema version is left exactly as it was found.
 */
export const openDatabaseFile = (file: string): DatabaseSync => {
  let db: DatabaseSync;
  try {
    // SQLite would open a read-only file read-only, and fail later on its lock with an I/O error.
    if (existsSync(file)) accessSync(file, constants.R_OK | constants.W_OK);
    db = new DatabaseSync(file, { timeout: 0 });
  } catch (error) {
    throw dataDirError(file, error);
  }
  try {
    // Before anything is read: in exclusive mode a WAL database keeps its index in this process's memory.
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('BEGIN IMMEDIATE');
    const found = identityOf(db);
    const isNew = found.applicationId === 0 && found.userVersion === 0 && found.tables === 0;
    const refused = isNew ? undefined : incompatibility(file, found);
    db.exec(refused ? 'ROLLBACK' : 'COMMIT');
    if (refused) throw refused;
    if (isNew) createSchema(db);
    // Each commit reaches the WAL; the WAL reaches the disk at checkpoints. A process that dies loses
    // nothing committed; a power cut may lose the last commits, never the file's consistency.
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT}`);
    return db;
  } catch (error) {
    closeQuietly(db);
    throw dataDirError(file, error);
  }
};

/** Lets go of a database that failed to open; the error that made it fail is the one worth telling. */
const closeQuietly = (db: DatabaseSync): void => {
  try {
    if (db.isTransaction) db.exec('ROLLBACK');
  } catch {
    // SQLite rolls back by itself when the connection closes.
  }
  try {
    db.close();
  } catch {
    // Already closed.
  }
};
