import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDataStore } from '../../src/adapters/sqlite/data-store.ts';
import { describeHealthStoreContract } from './health-store.contract.ts';
import { describeIdempotencyStoreContract } from './idempotency-store.contract.ts';
import { describeJobControlsContract } from './job-controls.contract.ts';
import { describeJobLedgerContract } from './job-ledger.contract.ts';
import { describeTaskStoreContract } from './task-store.contract.ts';

/** A data store on a database file of its own, in a directory of its own that cleanup removes. */
const freshDataStore = async (): Promise<{ data: SqliteDataStore; cleanup: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-sqlite-contract-'));
  const data = SqliteDataStore.open(join(dir, 'fanout.db'));
  return {
    data,
    cleanup: async () => {
      await data.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

// The concurrency tests run: every write is one synchronous step on the one connection.
describeTaskStoreContract('SqliteTaskStore', async () => {
  const { data, cleanup } = await freshDataStore();
  return { store: data.tasks, cleanup };
});

describeJobLedgerContract('SqliteTaskStore', async () => {
  const { data, cleanup } = await freshDataStore();
  return { store: data.tasks, cleanup };
});

describeJobControlsContract('SqliteTaskStore', async () => {
  const { data, cleanup } = await freshDataStore();
  return { store: data.tasks, cleanup };
});

describeIdempotencyStoreContract('SqliteIdempotencyStore', async () => {
  const { data, cleanup } = await freshDataStore();
  return { store: data.idempotency, cleanup };
});

describeHealthStoreContract('SqliteHealthStore', async () => {
  const { data, cleanup } = await freshDataStore();
  return { store: data.health, cleanup };
});
