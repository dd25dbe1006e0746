import { statSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { removeOrphanSpools } from '../api/spool.ts';
import { jobRequestFrom } from '../config/job.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { PermanentError, UsageError } from '../core/errors.ts';
import { fanInOf } from '../core/pipeline/fan-in.ts';
import { parseNumberText } from '../core/pipeline/number-text.ts';
import type { Engine } from '../engine/engine.ts';
import { createEngine, removeOrphanResults } from '../engine/from-config.ts';
import type { JobInput } from '../ports/job-service.ts';
import { registerClientCommands } from './client/commands.ts';
import { EndpointError } from './client/errors.ts';
import { registerEmulatorsCommand } from './emulators.ts';
import { formatStats } from './format.ts';
import { withJobOptions } from './job-flags.ts';
import { showProgress } from './progress.ts';
import { ResultWriter } from './result-writer.ts';
import { tuneForChunkSize } from './tuning.ts';

export const ExitCode = { ok: 0, chunksFailed: 1, usage: 2, interrupted: 130 } as const;

type Flag = { path: string[]; value: unknown; flag: string };

/** A number flag as given: NaN for text, so that validation names the flag instead of guessing. */
const number = (text: string): number => parseNumberText(text.trim()) ?? Number.NaN;

const FLAG_PATHS: Record<string, { path: string[]; flag: string; parse?: (text: string) => unknown }> = {
  pipeline: { path: ['pipeline'], flag: '--pipeline' },
  chunking: { path: ['chunking', 'mode'], flag: '--chunking' },
  chunkSize: { path: ['chunking', 'size'], flag: '--chunk-size', parse: number },
  maxAttempts: { path: ['retry', 'max_attempts'], flag: '--max-attempts', parse: number },
  strategy: { path: ['balancer', 'strategy'], flag: '--strategy' },
  priority: { path: ['priority', 'default'], flag: '--priority' },
  targets: { path: ['targets'], flag: '--targets', parse: (text) => text.split(',').map((t) => t.trim()) },
  workers: { path: ['workers_per_target'], flag: '--workers', parse: number },
  step: { path: ['steps'], flag: '--step' },
  port: { path: ['server', 'port'], flag: '--port', parse: number },
  host: { path: ['server', 'host'], flag: '--host' },
  dataDir: { path: ['server', 'data_dir'], flag: '--data-dir' },
};

const flagsFrom = (options: Record<string, unknown>): Flag[] =>
  Object.entries(FLAG_PATHS).flatMap(([key, { path, flag, parse }]) => {
    const value = options[key];
    if (value === undefined) return [];
    return [{ path, flag, value: typeof value === 'string' && parse ? parse(value) : value }];
  });

const openInput = (input: string): JobInput => {
  if (input === '-') return process.stdin;
  const stat = statSync(input, { throwIfNoEntry: false });
  if (stat === undefined) throw new UsageError(`input file ${input} does not exist`);
  if (!stat.isFile()) throw new UsageError(`input ${input} is not a file`);
  if (stat.size === 0) throw new UsageError(`input file ${input} is empty; there is nothing to process`);
  return { path: input };
};

/** On SIGINT/SIGTERM: notes it, then closes the engine, which lets the tries on worker threads finish. */
const onSignal = (engine: Engine, noted: () => void): (() => void) => {
  const stop = () => {
    noted();
    process.stderr.write('\nfanout: stopping; letting the tries in flight finish...\n');
    void engine.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
};

/** Removes what earlier processes, killed before they could clean up, left: spooled bodies, results. */
const removeLeftovers = async (config: Config, ...outs: (string | undefined)[]): Promise<void> => {
  await Promise.all([
    removeOrphanSpools(),
    removeOrphanResults(config),
    ...outs.map((out) => (out === undefined ? [] : ResultWriter.removeOrphans(out))),
  ]);
};

const run = async (input: string, options: Record<string, unknown>): Promise<number> => {
  const config = loadConfig({ file: options.config as string | undefined, flags: flagsFrom(options) });
  await removeLeftovers(config, options.out as string | undefined, options.rejects as string | undefined);
  tuneForChunkSize(config.chunking.size);
  const source = openInput(input);
  // A one-shot job gains nothing from a database unless asked to: then it is kept where a server finds it.
  const engine = await createEngine(
    config,
    options.dataDir === undefined ? {} : { dataDir: config.server.data_dir },
  );
  let output: ResultWriter | undefined;
  let rejects: ResultWriter | undefined;
  let interrupted = false;
  const release = onSignal(engine, () => {
    interrupted = true;
  });
  try {
    output = options.out ? await ResultWriter.open(options.out as string) : undefined;
    rejects = options.rejects ? await ResultWriter.open(options.rejects as string) : undefined;
    // A data directory's other jobs: those past their TTL go, unfinished ones run on while this one runs.
    await engine.resume();
    const request = jobRequestFrom(config);
    const handle = await engine.submit(source, request);
    // A calculation's result is its chunks' outputs combined at the end, not laid end to end as they come.
    if (output && fanInOf(request.pipeline) === undefined) {
      const writer = output;
      engine.events.on('output', ({ jobId, index, data }) => {
        if (jobId === handle.jobId) writer.offer(index, data);
      });
    }
    const stopProgress = showProgress(engine, handle.jobId, undefined);
    const view = await Promise.race([handle.done, engine.closed.then(() => undefined)])
      .catch((error: unknown) => {
        // Closing on a signal cuts the input short: that is the interruption, not an error.
        if (interrupted) return undefined;
        throw error;
      })
      .finally(stopProgress);
    if (interrupted) await engine.closed;
    const final = view ?? engine.getJob(handle.jobId);
    if (final === undefined) return ExitCode.interrupted;
    if (final.chunksTotal === 0) throw new UsageError('the input is empty; there is nothing to process');
    if (options.json) process.stdout.write(`${JSON.stringify(final)}\n`);
    else process.stdout.write(`${formatStats(final.stats)}\n`);
    if (interrupted) return ExitCode.interrupted;
    if (rejects) {
      // Those of the completed chunks, whatever became of the others: they say what to fix in the input.
      await rejects.finish(() => engine.readRejects(handle.jobId));
      process.stderr.write(`fanout: wrote the rejects to ${options.rejects}\n`);
    }
    if (final.chunksFailed > 0) {
      const failed = (await engine.listTasks(handle.jobId, 'failed')) ?? [];
      process.stderr.write(
        `fanout: ${failed.length} chunks failed: ${failed
          .map((t) => `#${t.index} ${t.error?.message ?? ''}`)
          .slice(0, 10)
          .join('; ')}${failed.length > 10 ? '; ...' : ''}\n`,
      );
      if (output)
        process.stderr.write(`fanout: ${options.out} not written: the result would be incomplete\n`);
      return ExitCode.chunksFailed;
    }
    if (output) {
      // Every chunk has ended: the worker threads go before any output is read back, and their memory
      // with them. The outputs come from the stores, which closing the engine leaves open.
      await engine.close();
      try {
        // The writer is done with each piece once written, so a sort's merge may write the next in its buffer.
        await output.finish((from) => engine.readResult(handle.jobId, from, { reusePieces: true }));
      } catch (error) {
        if (!(error instanceof PermanentError)) throw error;
        process.stderr.write(
          `fanout: ${options.out} not written: the result could not be combined: ${error.message}\n`,
        );
        return ExitCode.chunksFailed;
      }
      process.stderr.write(`fanout: wrote ${options.out}\n`);
    }
    return ExitCode.ok;
  } finally {
    release();
    await engine.close();
    await output?.abandon();
    await rejects?.abandon();
    await engine.closeStores();
  }
};

const serve = async (options: Record<string, unknown>): Promise<number> => {
  if (options.mode === 'emulators') {
    const { serveOnEmulators } = await import('./serve-emulators.ts');
    await serveOnEmulators(options);
    return ExitCode.ok;
  }
  if (options.useDeployed) throw new UsageError('--use-deployed needs --mode emulators');
  if (options.requireSigv4) throw new UsageError('--require-sigv4 needs --mode emulators');
  if (options.memory && options.dataDir !== undefined)
    throw new UsageError(
      '--memory and --data-dir cannot be used together: keep jobs in memory, or in a directory',
    );
  const config = loadConfig({ file: options.config as string | undefined, flags: flagsFrom(options) });
  await removeLeftovers(config);
  const dataDir = options.memory ? undefined : config.server.data_dir;
  const engine = await createEngine(config, dataDir === undefined ? {} : { dataDir });
  let server: import('../server/local-server.ts').LocalServer;
  try {
    engine.prepare(jobRequestFrom(config));
    // Loaded here, not up front: `run` has no use for the server or prom-client, and their memory.
    const { startLocalServer } = await import('../server/local-server.ts');
    server = await startLocalServer(engine, config);
  } catch (error) {
    // The worker threads have started: the process would not end while they run.
    await engine.close();
    await engine.closeStores();
    throw error;
  }
  process.stderr.write(`fanout: listening on ${server.url} (targets ${engine.targetNames.join(', ')})\n`);
  const { resumed } = server;
  if (dataDir !== undefined)
    process.stderr.write(
      `fanout: jobs kept in ${dataDir}: ${resumed.jobs} (${resumed.running} running on); --memory keeps none\n`,
    );
  await new Promise<void>((resolve) => {
    const stop = async () => {
      process.stderr.write('fanout: stopping; letting the tries in flight finish...\n');
      try {
        await server.close();
        await engine.close();
      } finally {
        await engine.closeStores().catch((error: unknown) => {
          process.stderr.write(`fanout: could not close the stores: ${(error as Error).message}\n`);
        });
        resolve();
      }
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return ExitCode.ok;
};

const program = (): Command => {
  const cli = new Command('fanout')
    .description('Split data into chunks and fan them out to processors across clouds, or on this machine.')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`fanout: ${text.replace(/^error: /, '')}`) });
  const config = new Option(
    '-c, --config <file>',
    'configuration file (default: ./fanout.config.yaml when present)',
  );
  withJobOptions(
    cli
      .command('run')
      .description('run one job end to end in the embedded engine')
      .argument('<input>', 'input file, or - for standard input')
      .addOption(config),
  )
    .option('--workers <n>', 'tries each target runs at once: its slots on the shared worker threads')
    .option('--step <module...>', 'custom step module(s) to load')
    .option('-o, --out <file>', "write the result (chunk outputs in order, or a calculation's) to this file")
    .option('--rejects <file>', 'write the records check steps rejected to this file, as NDJSON')
    .option('--data-dir <dir>', 'keep the job in this data directory (see fanout serve), not only in memory')
    .option('--json', 'print the final job and its stats as one JSON object on stdout')
    .action(async (input: string, options: Record<string, unknown>) => {
      process.exitCode = await run(input, options);
    });
  cli
    .command('serve')
    .description('serve the HTTP API on this machine')
    .addOption(config)
    .addOption(
      new Option(
        '--mode <mode>',
        'embedded: the engine in this process; emulators: the AWS functions on the local emulators',
      )
        .choices(['embedded', 'emulators'])
        .default('embedded'),
    )
    .option('--prefix <name>', 'with --mode emulators: the prefix of the resource names', 'fanout')
    .option(
      '--use-deployed',
      'with --mode emulators: run on what npm run deploy:emulator deployed, creating and changing nothing',
    )
    .option(
      '--require-sigv4',
      'with --mode emulators: refuse requests without a valid SigV4 signature by the emulator credentials',
    )
    .option('--data-dir <dir>', 'where jobs are kept across restarts (default: server.data_dir, .fanout)')
    .option('--memory', 'keep jobs in memory only: a restart loses them')
    .option('--port <port>', 'port to listen on (0 picks a free one)')
    .option('--host <host>', 'address to listen on')
    .option('--targets <names>', 'comma-separated targets, e.g. aws,gcp')
    .option('--workers <n>', 'tries each target runs at once: its slots on the shared worker threads')
    .option('--step <module...>', 'custom step module(s) to load')
    .action(async (options: Record<string, unknown>) => {
      process.exitCode = await serve(options);
    });
  registerClientCommands(cli);
  registerEmulatorsCommand(cli);
  return cli;
};

/** Runs the CLI and returns the exit code: 0 all chunks completed, 1 some failed, 2 a usage or config error. */
export const main = async (argv: readonly string[]): Promise<number> => {
  process.exitCode = ExitCode.ok;
  try {
    await program().parseAsync(argv);
    return Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (error instanceof UsageError) {
      process.stderr.write(`fanout: ${error.message}\n`);
      return ExitCode.usage;
    }
    if (error instanceof EndpointError) {
      process.stderr.write(`fanout: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
};
