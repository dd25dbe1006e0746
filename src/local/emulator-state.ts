import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EMULATOR_HOST, EmulatorKind, type EmulatorProcess, emulatorEndpoint } from './emulators.ts';
import { EmulatorStateError } from './errors.ts';

/** Where `fanout emulators` keeps its state and the emulators' logs, under the working directory. */
export const EMULATORS_DIR = join('.fanout', 'emulators');
const STATE_FILE = 'state.json';

/** The project the local Google Cloud clients use with the Pub/Sub emulator. */
export const PUBSUB_PROJECT_ID = 'fanout-local';

const ProcessSchema = z.strictObject({
  kind: z.enum(EmulatorKind),
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65_535),
  logFile: z.string().min(1),
});

const StateSchema = z.strictObject({ moto: ProcessSchema, pubsub: ProcessSchema });

/** The emulators one `fanout emulators start` left running. */
export type EmulatorState = z.infer<typeof StateSchema>;

export const statePath = (dir: string): string => join(dir, STATE_FILE);

/** The recorded state, or undefined when none is recorded; a file that is not valid state is an error. */
export const readState = async (dir: string): Promise<EmulatorState | undefined> => {
  const path = statePath(dir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new EmulatorStateError(`${path} is not JSON; stop the emulators by hand and delete it`, { cause });
  }
  const parsed = StateSchema.safeParse(json);
  if (!parsed.success) {
    throw new EmulatorStateError(
      `${path} is not emulator state (${parsed.error.issues[0]?.message}); delete it`,
    );
  }
  return parsed.data;
};

export const writeState = async (dir: string, state: EmulatorState): Promise<void> => {
  await mkdir(dir, { recursive: true });
  await writeFile(statePath(dir), `${JSON.stringify(state, null, 2)}\n`);
};

export const clearState = (dir: string): Promise<void> => rm(statePath(dir), { force: true });

/** What the AWS SDK needs to talk to an AWS emulator at `endpoint`: any region, any keys. */
export const awsEmulatorEnvironment = (endpoint: string) => ({
  AWS_ENDPOINT_URL: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
});

/** The variables that point the AWS SDK and the Google Cloud clients at the emulators. */
export const emulatorEnvironment = (state: { moto: EmulatorProcess; pubsub: EmulatorProcess }) => ({
  ...awsEmulatorEnvironment(emulatorEndpoint(state.moto.port)),
  PUBSUB_EMULATOR_HOST: `${EMULATOR_HOST}:${state.pubsub.port}`,
  PUBSUB_PROJECT_ID,
  // Keeps Google's auth library from probing for a metadata server that a laptop does not have.
  METADATA_SERVER_DETECTION: 'none',
});

/** One `export` line for the shell: `eval "$(npx fanout emulators start)"`. */
export const exportLine = (environment: Record<string, string>): string =>
  `export ${Object.entries(environment)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')}`;
