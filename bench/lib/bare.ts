import { join } from 'node:path';
import { build } from 'esbuild';
import { runTimed } from './cli.ts';

export interface BareRun {
  wallMs: number;
  chunks: number;
  bytesOut: number;
}

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Bundles bench/bare/ into `dir`, as dist/ bundles the CLI, so that neither side strips TypeScript types
 * at start-up. Returns the program to run.
 */
export const buildBare = async (dir: string): Promise<string> => {
  const outdir = join(dir, 'bare');
  await build({
    absWorkingDir: ROOT,
    entryPoints: { run: 'bench/bare/run.ts', worker: 'bench/bare/worker.ts' },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22.18',
    logLevel: 'warning',
  });
  return join(outdir, 'run.js');
};

export interface BareArgs {
  program: string;
  input: string;
  pipeline: string;
  chunkSize: number;
  threads: number;
  cwd: string;
}

/** Runs the bare program as `fanout run` is run: a child process, timed from spawn to exit. */
export const runBare = async (args: BareArgs): Promise<BareRun> => {
  const { program, input, pipeline, chunkSize, threads, cwd } = args;
  const argv = [program, input, pipeline, String(chunkSize), String(threads), '/dev/null'];
  const { wallMs, stdout } = await runTimed(argv, cwd, undefined);
  const { chunks, bytesOut } = JSON.parse(stdout) as { chunks: number; bytesOut: number };
  return { wallMs, chunks, bytesOut };
};
