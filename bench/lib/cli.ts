import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JobView } from '../../src/core/job.ts';

/** The bundle `npm run build` makes of bin/fanout.ts: what `npm start` runs. The bench builds it first. */
export const FANOUT = new URL('../../dist/fanout.js', import.meta.url).pathname;
const PROC_POLL_MS = 20;

export interface FanoutRun {
  wallMs: number;
  /** When the process ended, in ms since the epoch: against the view's completedAt, what came after the last chunk. */
  exitedAt: number;
  peakRssKiB: number;
  rssSource: RssSource;
  view: JobView;
}

export type RssSource = 'gnu-time' | 'proc-vmhwm';

export interface FanoutArgs {
  input: string;
  pipeline: string;
  chunkSize: number;
  out?: string;
  /** Given, the run is durable (`--data-dir`): tasks in SQLite, the input linked and the results synced there. */
  dataDir?: string;
  /** Where the child runs: its results store (.fanout/results) lands here, and no config file is picked up. */
  cwd: string;
}

/** GNU time when `which` finds one that understands -f/-o; otherwise the child's VmHWM is polled. */
export const findGnuTime = (): string | undefined => {
  const which = spawnSync('which', ['time'], { encoding: 'utf8' });
  const path = which.status === 0 ? which.stdout.trim() : '';
  if (path === '') return undefined;
  const probe = spawnSync(path, ['-f', '%M', '-o', '/dev/null', 'true']);
  return probe.status === 0 ? path : undefined;
};

/** FANOUT_* variables would change the configuration under test. */
const childEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FANOUT_')));

const fanoutArgv = ({ input, pipeline, chunkSize, out, dataDir }: FanoutArgs): string[] => [
  FANOUT,
  'run',
  input,
  '--pipeline',
  pipeline,
  '--chunk-size',
  String(chunkSize),
  '--json',
  ...(out === undefined ? [] : ['--out', out]),
  ...(dataDir === undefined ? [] : ['--data-dir', dataDir]),
];

const readVmHwm = (pid: number): number => {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
};

const parseView = (stdout: string): JobView => {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as JobView;
};

export interface TimedRun {
  wallMs: number;
  exitedAt: number;
  peakRssKiB: number;
  rssSource: RssSource;
  stdout: string;
}

/**
 * Runs `node ARGV` as a child process and times it from spawn to exit, with its peak RSS (by GNU time when
 * given one, else by polling VmHWM). Throws unless it exits with 0.
 */
export const runTimed = async (
  argv: string[],
  cwd: string,
  gnuTime: string | undefined,
): Promise<TimedRun> => {
  const rssFile = join(cwd, `rss-${process.pid}-${Date.now()}.txt`);
  const [command, commandArgs] = gnuTime
    ? [gnuTime, ['-f', '%M', '-o', rssFile, process.execPath, ...argv]]
    : [process.execPath, argv];
  let stdout = '';
  let stderr = '';
  let polled = 0;
  const started = performance.now();
  const child = spawn(command, commandArgs, { cwd, env: childEnv() });
  const poll = gnuTime
    ? undefined
    : setInterval(() => {
        polled = Math.max(polled, readVmHwm(child.pid as number));
      }, PROC_POLL_MS);
  child.stdout.on('data', (data: Buffer) => {
    stdout += data;
  });
  child.stderr.on('data', (data: Buffer) => {
    stderr += data;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const wallMs = performance.now() - started;
  const exitedAt = Date.now();
  clearInterval(poll);
  await new Promise((resolve) =>
    child.stdout.readableEnded ? resolve(0) : child.stdout.once('end', resolve),
  );
  if (code !== 0) throw new Error(`${argv[0]} exited with ${code}: ${stderr.trim()}`);
  const peakRssKiB = gnuTime ? Number(readFileSync(rssFile, 'utf8').trim()) : polled;
  rmSync(rssFile, { force: true });
  return { wallMs, exitedAt, peakRssKiB, rssSource: gnuTime ? 'gnu-time' : 'proc-vmhwm', stdout };
};

/** Runs `fanout run` as a child process and times it from spawn to exit. Throws unless every chunk completed. */
export const runFanout = async (args: FanoutArgs, gnuTime: string | undefined): Promise<FanoutRun> => {
  const { wallMs, exitedAt, peakRssKiB, rssSource, stdout } = await runTimed(
    fanoutArgv(args),
    args.cwd,
    gnuTime,
  );
  const view = parseView(stdout);
  if (view.status !== 'completed' || view.chunksFailed > 0) {
    throw new Error(`fanout run did not complete every chunk: ${view.status}, ${view.chunksFailed} failed`);
  }
  return { wallMs, exitedAt, peakRssKiB, rssSource, view };
};
