import { join } from 'node:path';
import type { Command } from 'commander';
import { FanoutError } from '../core/errors.ts';
import {
  clearState,
  EMULATORS_DIR,
  type EmulatorState,
  emulatorEnvironment,
  exportLine,
  readState,
  statePath,
  writeState,
} from '../local/emulator-state.ts';
import {
  answers,
  type EmulatorKind,
  type EmulatorProcess,
  emulatorEndpoint,
  isEmulatorRunning,
  startMoto,
  startPubsubEmulator,
  stopEmulator,
} from '../local/emulators.ts';

const KINDS: readonly EmulatorKind[] = ['moto', 'pubsub'];
const LABELS: Record<EmulatorKind, string> = { moto: 'moto (AWS)', pubsub: 'Pub/Sub emulator' };
const STARTERS = { moto: startMoto, pubsub: startPubsubEmulator } as const;

const say = (text: string) => process.stderr.write(`fanout: ${text}\n`);

const describe = (emulator: EmulatorProcess): string =>
  `${LABELS[emulator.kind]} on ${emulatorEndpoint(emulator.port)} (pid ${emulator.pid})`;

/** The recorded emulators that still run, by kind. */
const running = async (dir: string): Promise<Partial<EmulatorState>> => {
  const state = await readState(dir);
  if (state === undefined) return {};
  return Object.fromEntries(
    KINDS.flatMap((kind) => (isEmulatorRunning(state[kind]) ? [[kind, state[kind]]] : [])),
  );
};

const start = async (dir: string): Promise<number> => {
  const found = await running(dir);
  const started: EmulatorProcess[] = [];
  const ensure = async (kind: EmulatorKind): Promise<EmulatorProcess> => {
    const recorded = found[kind];
    if (recorded !== undefined) return recorded;
    const { pid, port, logFile } = await STARTERS[kind]({
      logFile: join(dir, `${kind}.log`),
      detached: true,
    });
    const emulator = { kind, pid, port, logFile };
    started.push(emulator);
    return emulator;
  };
  let state: EmulatorState;
  try {
    state = { moto: await ensure('moto'), pubsub: await ensure('pubsub') };
  } catch (error) {
    await Promise.all(started.map((emulator) => stopEmulator(emulator)));
    throw error;
  }
  await writeState(dir, state);
  for (const kind of KINDS) {
    const emulator = state[kind];
    say(`${started.includes(emulator) ? 'started' : 'already running:'} ${describe(emulator)}`);
  }
  say(`logs in ${dir}; stop them with: npx fanout emulators stop`);
  process.stdout.write(`${exportLine(emulatorEnvironment(state))}\n`);
  return 0;
};

const stop = async (dir: string): Promise<number> => {
  const state = await readState(dir);
  if (state === undefined) {
    say(`no emulators recorded in ${statePath(dir)}`);
    return 0;
  }
  for (const kind of KINDS) {
    const emulator = state[kind];
    say(`${(await stopEmulator(emulator)) ? 'stopped' : 'was not running:'} ${describe(emulator)}`);
  }
  await clearState(dir);
  return 0;
};

/** Exit code 0 when both emulators run and answer, 1 otherwise. */
const status = async (dir: string): Promise<number> => {
  const state = await readState(dir);
  let healthy = state !== undefined;
  for (const kind of KINDS) {
    const emulator = state?.[kind];
    const alive = emulator !== undefined && isEmulatorRunning(emulator);
    const answering = alive && (await answers(emulator.port));
    healthy &&= answering;
    const where = emulator === undefined ? '' : ` ${emulatorEndpoint(emulator.port)} pid ${emulator.pid}`;
    const condition = answering ? 'running' : alive ? 'not answering' : 'stopped';
    process.stdout.write(`${kind.padEnd(7)} ${condition}${where}\n`);
  }
  return healthy ? 0 : 1;
};

/** Reports a failure of the command itself (an emulator that would not start, a bad state file): exit 1. */
const reporting = (action: (dir: string) => Promise<number>) => async (): Promise<void> => {
  try {
    process.exitCode = await action(EMULATORS_DIR);
  } catch (error) {
    if (!(error instanceof FanoutError)) throw error;
    say(error.message);
    process.exitCode = 1;
  }
};

/** `fanout emulators start|stop|status`: moto and the Pub/Sub emulator as background processes. */
export const registerEmulatorsCommand = (cli: Command): void => {
  const emulators = cli
    .command('emulators')
    .description(
      'run moto (AWS) and the Pub/Sub emulator in the background, for the cloud path on this machine',
    );
  emulators
    .command('start')
    .description(
      'start both (or the one not running) and print the environment: eval "$(npx fanout emulators start)"',
    )
    .action(reporting(start));
  emulators
    .command('stop')
    .description('stop the emulators that start recorded, by PID')
    .action(reporting(stop));
  emulators
    .command('status')
    .description('show whether each runs and where; exit code 1 unless both answer')
    .action(reporting(status));
};
