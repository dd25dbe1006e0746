import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileResultStore } from '../../src/adapters/local/file-result-store.ts';
import { MemoryHealthStore } from '../../src/adapters/local/memory-health-store.ts';
import { MemoryIdempotencyStore } from '../../src/adapters/local/memory-idempotency-store.ts';
import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { describeHealthStoreContract } from './health-store.contract.ts';
import { describeIdempotencyStoreContract } from './idempotency-store.contract.ts';
import { describeJobControlsContract } from './job-controls.contract.ts';
import { describeJobLedgerContract } from './job-ledger.contract.ts';
import { type ContractMessage, describeQueueContract } from './queue.contract.ts';
import { describeResultStoreContract } from './result-store.contract.ts';
import { describeTaskStoreContract } from './task-store.contract.ts';

describeQueueContract('MemoryQueue', async () => ({ queue: new MemoryQueue<ContractMessage>() }));

describeTaskStoreContract('MemoryTaskStore', async () => ({ store: new MemoryTaskStore() }));

describeJobLedgerContract('MemoryTaskStore', async () => ({ store: new MemoryTaskStore() }));
describeJobControlsContract('MemoryTaskStore', async () => ({ store: new MemoryTaskStore() }));

describeIdempotencyStoreContract('MemoryIdempotencyStore', async () => ({
  store: new MemoryIdempotencyStore(),
}));

describeHealthStoreContract('MemoryHealthStore', async () => ({ store: new MemoryHealthStore() }));

describeResultStoreContract('MemoryResultStore', async () => ({ store: new MemoryResultStore() }));

describeResultStoreContract(
  'FileResultStore',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-result-store-'));
    const store = new FileResultStore(dir);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  // A directory inside a regular file cannot be made.
  () => new FileResultStore(join(fileURLToPath(import.meta.url), 'results')),
);

describeResultStoreContract(
  'FileResultStore (kept)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-result-store-kept-'));
    const store = new FileResultStore(dir, { kept: true });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  () => new FileResultStore(join(fileURLToPath(import.meta.url), 'results'), { kept: true }),
);
