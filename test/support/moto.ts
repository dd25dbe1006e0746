export { awsClientConfig, type Emulator as Moto, startMoto } from '../../src/local/emulators.ts';
