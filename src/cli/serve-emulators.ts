import { EnvironmentError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { UsageError } from '../core/errors.ts';
import { ResourceOptionsError } from '../deploy/errors.ts';
import { defineGcpResources } from '../deploy/gcp-resources.ts';
import { ProvisioningError } from '../deploy/provision.ts';
import { defineResources } from '../deploy/resources.ts';

/** The identity emulator mode's own clients use: the emulator's test credentials in the environment. */
const emulatorIdentity = () => {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION } = process.env;
  if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY || !AWS_REGION) {
    throw new UsageError(
      '--require-sigv4 checks signatures against AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION; set them: eval "$(npx fanout emulators start)"',
    );
  }
  return { accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY, region: AWS_REGION };
};

/**
 * `fanout serve --mode emulators`: the AWS functions on the local AWS emulator, and the Google function
 * on the Pub/Sub emulator when `PUBSUB_EMULATOR_HOST` is set, with the HTTP API in front of ingest. Runs until SIGINT/SIGTERM, then lets the batches in flight finish.
 */
export const serveOnEmulators = async (options: Record<string, unknown>): Promise<void> => {
  // Loaded here: the embedded modes have no use for the AWS SDK and its memory.
  const { startEmulatorMode } = await import('../local/emulator-mode.ts');
  const port = options.port === undefined ? 3000 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, got ${String(options.port)}`);
  }
  let mode: Awaited<ReturnType<typeof startEmulatorMode>>;
  try {
    const prefix = (options.prefix as string | undefined) ?? 'fanout';
    // The same settings as the embedded engine's: the table's TTL and the topics' retention, and the
    // lanes' shares of the processors' concurrency.
    const config = loadConfig({ file: options.config as string | undefined });
    const jobTtlSeconds = config.jobs.ttl_seconds;
    mode = await startEmulatorMode({
      resources: defineResources({ prefix, jobTtlSeconds, laneShares: config.priority.shares }),
      // The Google side runs wherever its emulator does.
      ...(process.env.PUBSUB_EMULATOR_HOST && {
        gcp: defineGcpResources({ prefix, jobTtlSeconds, laneShares: config.priority.shares }),
      }),
      port,
      useDeployed: options.useDeployed === true,
      host: (options.host as string | undefined) ?? '127.0.0.1',
      ...(options.requireSigv4 === true && { requireSigV4: emulatorIdentity() }),
    });
  } catch (error) {
    if (
      error instanceof EnvironmentError ||
      error instanceof ProvisioningError ||
      error instanceof ResourceOptionsError
    )
      throw new UsageError(error.message, { cause: error });
    throw error;
  }
  process.stderr.write(
    `fanout: the AWS functions run on the emulator at ${process.env.AWS_ENDPOINT_URL}${mode.provisionedGcp ? `, the Google function on the Pub/Sub emulator at ${process.env.PUBSUB_EMULATOR_HOST}` : ''}; the HTTP API listens on ${mode.url}${options.requireSigv4 === true ? ' and takes only requests signed with SigV4 by the emulator credentials' : ''}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = async () => {
      process.stderr.write('fanout: stopping; letting the batches in flight finish...\n');
      await mode.stop();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
};
