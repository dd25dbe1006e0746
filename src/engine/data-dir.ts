import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileInputSpool } from '../adapters/local/file-input-spool.ts';
import { FileResultStore } from '../adapters/local/file-result-store.ts';
import { SqliteDataStore } from '../adapters/sqlite/data-store.ts';
import { DataDirError } from '../adapters/sqlite/errors.ts';
import type { TaskStore } from '../ports/task-store.ts';
import { removeUnknown } from '../util/orphans.ts';
import type { KeptState } from './engine-options.ts';

/** What a data directory holds, by name: docs/architecture.md ("The durable engine") draws the same. */
export const DATA_DIR_LAYOUT = {
  database: 'fanout.db',
  inputs: 'inputs',
  results: 'results',
  /** A sort's merge in levels, while its result is read: files of the process, removed once it is gone. */
  scratch: 'scratch',
} as const;

/** A durable engine's stores, on a data directory. */
export interface DataDir {
  tasks: TaskStore;
  results: FileResultStore;
  scratch: FileResultStore;
  kept: KeptState;
}

/**
 * Opens a data directory for a durable engine, creating it when absent: the database (which takes the
 * directory's lock, see `SqliteDataStore.open`), the kept inputs and the results. Throws `DataDirError`
 * naming the path for a directory that cannot be written, is in use, is corrupt or was written by an
 * incompatible version; nothing in it is changed then.
 */
export const openDataDir = async (dir: string): Promise<DataDir> => {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (cause) {
    const detail = `cannot create or write this data directory (${(cause as Error).message}); choose another --data-dir, or make it writable`;
    throw new DataDirError(dir, 'not-writable', detail, { cause });
  }
  const store = SqliteDataStore.open(join(dir, DATA_DIR_LAYOUT.database));
  // Holding the lock proves that the process which took the leases of the tries still running is gone.
  await store.releaseLeases(Date.now());
  const spool = new FileInputSpool(join(dir, DATA_DIR_LAYOUT.inputs));
  const results = new FileResultStore(join(dir, DATA_DIR_LAYOUT.results), { kept: true });
  const scratchDir = join(dir, DATA_DIR_LAYOUT.scratch);
  await FileResultStore.removeOrphans(scratchDir);
  return {
    tasks: store.tasks,
    results,
    scratch: new FileResultStore(scratchDir),
    kept: {
      dir,
      spool,
      idempotency: store.idempotency,
      health: store.health,
      meta: { read: (key) => store.readMeta(key), write: (key, value) => store.writeMeta(key, value) },
      sweep: async (known) => {
        await removeUnknown(join(dir, DATA_DIR_LAYOUT.inputs), /^([A-Za-z0-9_-]+)\.input/, known);
        await removeUnknown(join(dir, DATA_DIR_LAYOUT.results), /^([A-Za-z0-9_-]+)\.results$/, known);
      },
      close: async () => {
        try {
          await results.close();
        } finally {
          await store.close();
        }
      },
    },
  };
};
