export { type Emulator as PubsubEmulator, startPubsubEmulator } from '../../src/local/emulators.ts';
