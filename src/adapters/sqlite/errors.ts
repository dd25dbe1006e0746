import { UsageError } from '../../core/errors.ts';

/** Why a data directory's database could not be used. */
export type DataDirProblem = 'locked' | 'not-writable' | 'corrupt' | 'incompatible';

/**
 * A database file Fanout cannot use as it is: in use by another process, not writable, not a database,
 * or written by another program or version. A `UsageError`, so the CLI exits 2: only the person who
 * chose the data directory can fix it, and the message says how. Nothing is written to the file first.
 */
export class DataDirError extends UsageError {
  /** The database file, as given to `SqliteDataStore.open`. */
  readonly path: string;
  readonly reason: DataDirProblem;

  constructor(path: string, reason: DataDirProblem, detail: string, options?: ErrorOptions) {
    super(`${path}: ${detail}`, options);
    this.name = 'DataDirError';
    this.path = path;
    this.reason = reason;
  }
}
