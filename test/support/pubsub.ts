import { afterAll, afterEach, beforeAll } from 'vitest';
import { createPubSubClients, type PubSubClients } from '../../src/adapters/gcp/clients.ts';
import { type Emulator, startPubsubEmulator } from '../../src/local/emulators.ts';

export { type Emulator as PubsubEmulator, startPubsubEmulator } from '../../src/local/emulators.ts';

/**
 * One Pub/Sub emulator for the calling test file, with clients for `project`: started before its tests,
 * reset after each one, stopped by PID after the last. Read `clients` inside tests and hooks.
 */
export const pubsubForThisFile = (project: string): { readonly clients: PubSubClients } => {
  let emulator: Emulator | undefined;
  let clients: PubSubClients | undefined;
  beforeAll(async () => {
    emulator = await startPubsubEmulator();
    clients = await createPubSubClients({ emulatorHost: emulator.address, projectId: project });
  });
  afterEach(() => emulator?.reset());
  afterAll(async () => {
    await clients?.close();
    await emulator?.stop();
  });
  return {
    get clients(): PubSubClients {
      if (clients === undefined) throw new Error('the Pub/Sub emulator is not started yet');
      return clients;
    },
  };
};
