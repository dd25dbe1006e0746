import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EmulatorError } from './errors.ts';

export const EmulatorKind = { moto: 'moto', pubsub: 'pubsub' } as const;
export type EmulatorKind = (typeof EmulatorKind)[keyof typeof EmulatorKind];

export const EMULATOR_HOST = '127.0.0.1';
export const PUBSUB_EMULATOR_COMMAND =
  '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator';

interface EmulatorSpec {
  command: string;
  args: (port: number) => string[];
  /** Text in /proc/PID/cmdline that shows the PID is still this emulator and not a reused one. */
  marker: string;
  resetPath: string;
  /** moto picks its own port and prints it; the Pub/Sub emulator cannot, so a free one is picked for it. */
  printsPort: boolean;
}

const SPECS: Record<EmulatorKind, EmulatorSpec> = {
  moto: {
    // moto_server with DynamoDB's requests one at a time, for DynamoDB's atomicity (see the script).
    command: 'python3',
    args: () => [MOTO_SERIALIZED, '-H', EMULATOR_HOST, '-p', '0'],
    marker: 'moto_server',
    resetPath: '/moto-api/reset',
    printsPort: true,
  },
  pubsub: {
    command: PUBSUB_EMULATOR_COMMAND,
    args: (port) => [`--host=${EMULATOR_HOST}`, `--port=${port}`],
    marker: 'cloud-pubsub-emulator',
    resetPath: '/reset',
    printsPort: false,
  },
};

/** Next to this module in src/local/, and copied next to the bundle into dist/ by the build. */
const MOTO_SERIALIZED = fileURLToPath(new URL('moto_server_serialized.py', import.meta.url));

const MOTO_PORT_LINE = /Running on http:\/\/127\.0\.0\.1:(\d+)/;
const POLL_MS = 50;

/** What identifies a running emulator across processes: enough to reach it, reset it and stop it. */
export interface EmulatorProcess {
  kind: EmulatorKind;
  pid: number;
  port: number;
  /** Its standard output and error. */
  logFile: string;
}

export interface Emulator extends EmulatorProcess {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** `127.0.0.1:PORT`, the form PUBSUB_EMULATOR_HOST takes. */
  address: string;
  /** Clears every resource it holds. */
  reset: () => Promise<void>;
  /** Stops it by its PID; removes its log when the log was a temporary one. */
  stop: () => Promise<void>;
}

export interface StartOptions {
  /** Where its output goes. @default a file in a new temporary directory, removed on stop */
  logFile?: string;
  /** Outlives this process (for the CLI), instead of being a child that ends with it. @default false */
  detached?: boolean;
  /** @default 30000 */
  readyTimeoutMs?: number;
}

/** A port free on the loopback interface now: the OS picks one for a socket that is closed again. */
export const freePort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, EMULATOR_HOST, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new EmulatorError('no free port found');
  return address.port;
};

export const emulatorEndpoint = (port: number): string => `http://${EMULATOR_HOST}:${port}`;

/** AWS SDK client settings for moto: its endpoint, a fixed region, dummy keys, path-style S3. */
export const awsClientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  forcePathStyle: true,
});

const readProc = (pid: number, file: string): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * Whether PID is still a live process of that emulator. A zombie does not count (a stopped detached
 * emulator may wait a while to be reaped), nor does a PID the system has since given to another program.
 */
export const isEmulatorRunning = (emulator: Pick<EmulatorProcess, 'kind' | 'pid'>): boolean => {
  const stat = readProc(emulator.pid, 'stat');
  const state = stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === undefined || state === 'Z' || state === 'X') return false;
  return (readProc(emulator.pid, 'cmdline') ?? '').includes(SPECS[emulator.kind].marker);
};

const waitUntilGone = async (process: EmulatorProcess, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (isEmulatorRunning(process)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
};

/**
 * Stops an emulator by its PID: SIGTERM, then SIGKILL after the grace period. Signals nothing unless
 * the PID is still that emulator. Returns whether it was running.
 */
export const stopEmulator = async (emulator: EmulatorProcess, graceMs = 5000): Promise<boolean> => {
  if (!isEmulatorRunning(emulator)) return false;
  process.kill(emulator.pid, 'SIGTERM');
  if (await waitUntilGone(emulator, graceMs)) return true;
  if (isEmulatorRunning(emulator)) process.kill(emulator.pid, 'SIGKILL');
  await waitUntilGone(emulator, graceMs);
  return true;
};

export const resetEmulator = async (emulator: Pick<EmulatorProcess, 'kind' | 'port'>): Promise<void> => {
  const response = await fetch(`${emulatorEndpoint(emulator.port)}${SPECS[emulator.kind].resetPath}`, {
    method: 'POST',
  });
  if (!response.ok) throw new EmulatorError(`${emulator.kind} reset failed: HTTP ${response.status}`);
};

/** Whether something answers HTTP on the port: any status will do, a refused connection will not. */
export const answers = async (port: number): Promise<boolean> => {
  try {
    await (await fetch(`${emulatorEndpoint(port)}/`, { signal: AbortSignal.timeout(2000) })).arrayBuffer();
    return true;
  } catch {
    return false;
  }
};

const logTail = async (logFile: string): Promise<string> =>
  (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-10).join('\n');

interface Launch {
  kind: EmulatorKind;
  logFile: string;
  exited: () => string | undefined;
  deadline: number;
}

const failure = async (launch: Launch, what: string): Promise<EmulatorError> =>
  new EmulatorError(
    `${launch.kind} emulator ${what}; its log (${launch.logFile}) ends:\n${await logTail(launch.logFile)}`,
  );

const waitFor = async <T>(launch: Launch, what: string, probe: () => Promise<T | undefined>): Promise<T> => {
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    const exit = launch.exited();
    if (exit !== undefined) throw await failure(launch, `exited (${exit}) before it ${what}`);
    if (Date.now() > launch.deadline) throw await failure(launch, `did not ${what} in time`);
    await sleep(POLL_MS);
  }
};

const printedPort = async (logFile: string): Promise<number | undefined> => {
  const match = MOTO_PORT_LINE.exec(await readFile(logFile, 'utf8'));
  return match ? Number(match[1]) : undefined;
};

const start = async (kind: EmulatorKind, options: StartOptions): Promise<Emulator> => {
  const spec = SPECS[kind];
  const ownsLog = options.logFile === undefined;
  const logFile = options.logFile ?? join(await mkdtemp(join(tmpdir(), `fanout-${kind}-`)), `${kind}.log`);
  await mkdir(dirname(logFile), { recursive: true });
  const chosenPort = spec.printsPort ? 0 : await freePort();
  const log = openSync(logFile, 'w');
  const child = spawn(spec.command, spec.args(chosenPort), {
    stdio: ['ignore', log, log],
    detached: options.detached ?? false,
  });
  closeSync(log);
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ?? `code ${code}`;
  });
  child.once('error', (error) => {
    exit = error.message;
  });
  if (options.detached) child.unref();
  const launch: Launch = {
    kind,
    logFile,
    exited: () => exit,
    deadline: Date.now() + (options.readyTimeoutMs ?? 30_000),
  };
  const stopChild = () => {
    if (exit === undefined) child.kill('SIGKILL');
  };
  try {
    const port = spec.printsPort
      ? await waitFor(launch, 'printed its port', () => printedPort(logFile))
      : chosenPort;
    await waitFor(launch, `answered on port ${port}`, async () => ((await answers(port)) ? true : undefined));
    const emulator: EmulatorProcess = { kind, pid: child.pid as number, port, logFile };
    return {
      ...emulator,
      endpoint: emulatorEndpoint(port),
      address: `${EMULATOR_HOST}:${port}`,
      reset: () => resetEmulator(emulator),
      stop: async () => {
        await stopEmulator(emulator);
        if (ownsLog) await rm(dirname(logFile), { recursive: true, force: true });
      },
    };
  } catch (error) {
    stopChild();
    throw error;
  }
};

/** Starts moto_server on a free loopback port (it picks one and prints it) and waits until it answers. */
export const startMoto = (options: StartOptions = {}): Promise<Emulator> => start(EmulatorKind.moto, options);

/** Starts the Pub/Sub emulator on a free loopback port and waits until it answers. */
export const startPubsubEmulator = (options: StartOptions = {}): Promise<Emulator> =>
  start(EmulatorKind.pubsub, options);
