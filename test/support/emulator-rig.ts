import { SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import type { GcpResources } from '../../src/deploy/gcp-resources.ts';
import type { Resources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { emulatorEnvironment } from '../../src/local/emulator-state.ts';
import { awsClientConfig, type Moto, startMoto } from './moto.ts';
import { type PubsubEmulator, startPubsubEmulator } from './pubsub.ts';

export interface EmulatorRig {
  moto: Moto;
  pubsubEmulator: PubsubEmulator;
  mode: EmulatorMode;
  /** A client on moto's SQS. */
  sqs: SQSClient;
  /** POSTs `body` to `/jobs?query`, expects 202; the new job's id. */
  submit: (query: string, body: Buffer) => Promise<string>;
  /** GETs `path` of the emulator's API as JSON. */
  getJson: <T>(path: string) => Promise<T>;
  /** Stops emulator mode, the client and both emulators. */
  stop: () => Promise<void>;
}

/**
 * Both clouds on this machine: moto and the Pub/Sub emulator on free ports, the process environment
 * `fanout emulators start` prints with short retry backoffs and no metrics, then `env`, and emulator mode
 * on a free port over `resources` and `gcp`, two processor batches at once.
 */
export const startEmulatorRig = async (options: {
  resources: Resources;
  gcp: GcpResources;
  env: Record<string, string>;
}): Promise<EmulatorRig> => {
  const [moto, pubsubEmulator] = await Promise.all([startMoto(), startPubsubEmulator()]);
  const stopEmulators = () => Promise.all([moto.stop(), pubsubEmulator.stop()]).then(() => undefined);
  Object.assign(process.env, {
    ...emulatorEnvironment({ moto, pubsub: pubsubEmulator }),
    // Short backoffs: the emulator pushes two messages at a time, and a pushed retry waits its backoff out.
    FANOUT_RETRY_BASE_DELAY_MS: '50',
    FANOUT_RETRY_MAX_DELAY_MS: '250',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...options.env,
  });
  let mode: EmulatorMode;
  try {
    mode = await startEmulatorMode({
      resources: options.resources,
      gcp: options.gcp,
      port: 0,
      maxConcurrency: 2,
    });
  } catch (error) {
    await stopEmulators();
    throw error;
  }
  const sqs = new SQSClient(awsClientConfig(moto.endpoint));
  return {
    moto,
    pubsubEmulator,
    mode,
    sqs,
    submit: async (query, body) => {
      const response = await fetch(`${mode.url}/jobs?${query}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body,
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { jobId: string }).jobId;
    },
    getJson: async <T>(path: string) => (await (await fetch(`${mode.url}${path}`)).json()) as T,
    stop: async () => {
      await mode.stop();
      sqs.destroy();
      await stopEmulators();
    },
  };
};
