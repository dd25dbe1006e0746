import { type ChildProcess, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/fanout.ts', import.meta.url));
/** This process's environment without any `FANOUT_*` setting, so that only what a test sets applies. */
export const CLEAN_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('FANOUT_')),
);

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fanout ARGS` as a child process in `cwd` with `env` (stdin closed at once); how it exited. */
export const runFanout = (args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Exit> =>
  new Promise((resolve) => {
    let child!: ChildProcess;
    child = execFile(
      NODE,
      [BIN, ...args],
      { cwd: options.cwd, env: options.env ?? CLEAN_ENV, encoding: 'utf8' },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
    child.stdin?.end();
  });
