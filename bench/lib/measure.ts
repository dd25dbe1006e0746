import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { type BareRun, buildBare, runBare } from './bare.ts';
import { type CeilingResult, measureCeiling, preChunk } from './ceiling.ts';
import { type FanoutRun, findGnuTime, type RssSource, runFanout } from './cli.ts';
import { waitForQuiet, watchForeignLoad } from './noise.ts';
import { PLAN } from './plan.ts';
import { type RecordsSummary, summarizeRecords } from './sorted-check.ts';

export interface Inputs {
  dir: string;
  main: string;
  memorySmall: string;
  memoryLarge: string;
  tiny: string;
  /** NDJSON records (bench/lib/input.ts) of the sizes of `main` and `memoryLarge`, for the record steps. */
  ndjsonMain: string;
  ndjsonLarge: string;
  bytes: Map<string, number>;
}

/** The sort of the large NDJSON input through `--out FILE`, and what its input and its output hold. */
export interface SortMeasured {
  run: FanoutRun;
  input: RecordsSummary;
  output: RecordsSummary;
}

export interface LoadSample {
  label: string;
  /** Share of all CPU capacity used by other processes during the measurement. */
  foreignLoad: number | undefined;
  /** Taken again because other processes disturbed it; not used by any figure. */
  discarded?: boolean;
}

export interface Measured {
  rssSource: RssSource;
  startup: FanoutRun[];
  /**
   * `bare`: the job's own work with no orchestration, timed as `fanout run` is (bench/bare/). `durable`:
   * `fanout run --data-dir` on the same input with the same pipeline.
   */
  throughput: { engine: FanoutRun[]; durable: FanoutRun[]; ceiling: CeilingResult[]; bare: BareRun[] };
  overhead: { engine: FanoutRun[]; engineWithOut: FanoutRun; ceiling: CeilingResult };
  /**
   * `largeCeiling`: the ceiling on the large input, for the ratio where start-up weighs less. `largeDurable`:
   * `fanout run --data-dir` on the large input.
   */
  memory: { small: FanoutRun; large: FanoutRun; largeDurable: FanoutRun; largeCeiling: CeilingResult };
  /**
   * Record steps (issue 24). `statistics`: the statistics pipeline on the NDJSON input of 1's size, a run
   * in each round of 1; `statisticsLarge`: on the large NDJSON input; `sort`: the large one sorted.
   */
  records: { statistics: FanoutRun[]; statisticsLarge: FanoutRun; sort: SortMeasured };
  loads: LoadSample[];
}

interface Context {
  inputs: Inputs;
  gnuTime: string | undefined;
  /** The bundled bare program. */
  bare: string;
  loads: LoadSample[];
}

export const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;

const quiet = async (maxMs: number): Promise<void> => {
  const load = await waitForQuiet(PLAN.noisyLoad, maxMs);
  if (load !== undefined && load > PLAN.noisyLoad) log(`still busy (${percent(load)} of the CPU); going on`);
};

/**
 * Runs one measurement and notes how much of the CPU other processes took meanwhile. A measurement they
 * disturbed is taken again once the machine is quiet, once; the report flags it if it was disturbed again.
 */
const sample = async <T>(
  ctx: Context,
  label: string,
  run: () => Promise<T>,
  describe: (value: T) => string,
): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    const foreign = watchForeignLoad();
    const value = await run();
    const foreignLoad = foreign();
    const noise =
      foreignLoad === undefined ? '' : `; other processes used ${percent(foreignLoad)} of the CPU`;
    log(`${label}: ${describe(value)}${noise}`);
    if ((foreignLoad ?? 0) <= PLAN.noisyLoad || attempt > PLAN.noisyRetries) {
      ctx.loads.push({ label, foreignLoad });
      return value;
    }
    ctx.loads.push({ label, foreignLoad, discarded: true });
    log(`${label}: disturbed; waiting for a quiet machine to take it again`);
    await quiet(PLAN.quietWaitMs);
  }
};

const describeRun = (run: FanoutRun): string =>
  `${run.wallMs.toFixed(0)} ms wall, ${run.view.chunksCompleted} chunks, peak RSS ${(run.peakRssKiB / 1024).toFixed(1)} MiB`;

const describeCeiling = (result: CeilingResult): string =>
  `${result.wallMs.toFixed(0)} ms wall, ${result.chunks} chunks on ${result.threads} threads`;

interface RunOptions {
  /**
   * With `--out /dev/null` unless false, or `--out` this file: writing the result reads every chunk back
   * from the results store.
   */
  out?: boolean | string;
  /**
   * With `--data-dir` on a fresh directory beside the inputs, so that the input is linked there, not
   * copied, as it would be by a user whose data directory is on the input's file system.
   */
  durable?: boolean;
}

/** Each run's results store (and data directory) is dropped afterwards; the 1 GiB run alone leaves half a gigabyte. */
const fanout = (
  ctx: Context,
  label: string,
  input: string,
  pipeline: string,
  chunkSize: number,
  { out = true, durable = false }: RunOptions = {},
) =>
  sample(
    ctx,
    label,
    async () => {
      const dataDir = durable ? await mkdtemp(join(ctx.inputs.dir, 'data-dir-')) : undefined;
      try {
        const args = { input, pipeline, chunkSize, dataDir, cwd: ctx.inputs.dir };
        const file = typeof out === 'string' ? out : out ? '/dev/null' : undefined;
        return await runFanout({ ...args, out: file }, ctx.gnuTime);
      } finally {
        rmSync(join(ctx.inputs.dir, '.fanout'), { recursive: true, force: true });
        if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
      }
    },
    describeRun,
  );

const ceiling = (ctx: Context, label: string, input: string, pipeline: string, chunkSize: number) =>
  sample(
    ctx,
    label,
    async () => measureCeiling(await preChunk(input, chunkSize), pipeline, PLAN.threads),
    describeCeiling,
  );

const describeBare = (run: BareRun): string => `${run.wallMs.toFixed(0)} ms wall, ${run.chunks} chunks`;

const bare = (ctx: Context, label: string) =>
  sample(
    ctx,
    label,
    () =>
      runBare({
        program: ctx.bare,
        input: ctx.inputs.main,
        pipeline: PLAN.pipeline,
        chunkSize: PLAN.chunk,
        threads: PLAN.threads,
        cwd: ctx.inputs.dir,
      }),
    describeBare,
  );

const measureStartup = async (ctx: Context): Promise<FanoutRun[]> => {
  const runs: FanoutRun[] = [];
  for (let i = 1; i <= PLAN.startupRuns; i++) {
    const label = `start-up ${i}/${PLAN.startupRuns}, 1 chunk, no steps, no --out`;
    runs.push(await fanout(ctx, label, ctx.inputs.tiny, PLAN.noop, PLAN.smallChunk, { out: false }));
  }
  return runs;
};

/**
 * Alternates the four, and the statistics of NDJSON (a record step's reduce) that 6a sets beside 1, so
 * that a slow spell of the machine does not land on one side only.
 */
const measureThroughput = async (
  ctx: Context,
): Promise<Measured['throughput'] & { statistics: FanoutRun[] }> => {
  const { main } = ctx.inputs;
  const { pipeline, chunk } = PLAN;
  const engine: FanoutRun[] = [];
  const durable: FanoutRun[] = [];
  const raw: CeilingResult[] = [];
  const bares: BareRun[] = [];
  const statistics: FanoutRun[] = [];
  for (let i = 1; i <= PLAN.repeats; i++) {
    const round = `${i}/${PLAN.repeats}`;
    engine.push(await fanout(ctx, `throughput ${round}, fanout run`, main, pipeline, chunk));
    const label = `throughput ${round}, fanout run --data-dir`;
    durable.push(await fanout(ctx, label, main, pipeline, chunk, { durable: true }));
    raw.push(await ceiling(ctx, `throughput ${round}, ceiling`, ctx.inputs.main, PLAN.pipeline, PLAN.chunk));
    bares.push(await bare(ctx, `throughput ${round}, bare program`));
    const stats = `throughput ${round}, fanout run, statistics of NDJSON`;
    statistics.push(await fanout(ctx, stats, ctx.inputs.ndjsonMain, PLAN.statistics, chunk));
  }
  return { engine, durable, ceiling: raw, bare: bares, statistics };
};

const measureOverhead = async (ctx: Context): Promise<Measured['overhead']> => {
  const { main } = ctx.inputs;
  const { noop, smallChunk } = PLAN;
  const engine: FanoutRun[] = [];
  for (let i = 1; i <= PLAN.repeats; i++) {
    const label = `overhead ${i}/${PLAN.repeats}, fanout run, no steps, no --out`;
    engine.push(await fanout(ctx, label, main, noop, smallChunk, { out: false }));
  }
  return {
    engine,
    engineWithOut: await fanout(
      ctx,
      'overhead, fanout run, no steps, --out /dev/null',
      main,
      noop,
      smallChunk,
    ),
    ceiling: await ceiling(ctx, 'overhead, ceiling, no steps', main, noop, smallChunk),
  };
};

const measureMemory = async (ctx: Context): Promise<Measured['memory']> => {
  const { memorySmall, memoryLarge } = ctx.inputs;
  const { pipeline, chunk } = PLAN;
  return {
    small: await fanout(ctx, 'memory, small input', memorySmall, pipeline, chunk),
    large: await fanout(ctx, 'memory, large input', memoryLarge, pipeline, chunk),
    largeDurable: await fanout(ctx, 'memory, large input, --data-dir', memoryLarge, pipeline, chunk, {
      durable: true,
    }),
    largeCeiling: await ceiling(ctx, 'ceiling, large input', memoryLarge, pipeline, chunk),
  };
};

/**
 * Sorts the large NDJSON input into a file beside it, then reads the input and the output through once
 * each, a block at a time: the output must hold the same records, ascending by the field.
 */
const measureSort = async (ctx: Context): Promise<SortMeasured> => {
  const { ndjsonLarge, dir } = ctx.inputs;
  const out = join(dir, 'sorted.ndjson');
  try {
    const label = 'records, the large NDJSON input sorted into --out FILE';
    const run = await fanout(ctx, label, ndjsonLarge, PLAN.sort, PLAN.chunk, { out });
    const [input, output] = await Promise.all([
      summarizeRecords(ndjsonLarge, PLAN.recordField),
      summarizeRecords(out, PLAN.recordField),
    ]);
    const same = (['records', 'bytes', 'idSum', 'idXor'] as const).every((key) => input[key] === output[key]);
    if (!same || output.outOfOrder > 0) {
      throw new Error(
        `the sort's output is wrong: ${JSON.stringify(output)} out of ${JSON.stringify(input)} (outOfOrder must be 0)`,
      );
    }
    log(`${label}: checked, ${output.records} records in ascending ${PLAN.recordField} order`);
    return { run, input, output };
  } finally {
    rmSync(out, { force: true });
  }
};

const measureRecords = async (ctx: Context, statistics: FanoutRun[]): Promise<Measured['records']> => ({
  statistics,
  statisticsLarge: await fanout(
    ctx,
    'records, statistics of the large NDJSON input',
    ctx.inputs.ndjsonLarge,
    PLAN.statistics,
    PLAN.chunk,
  ),
  sort: await measureSort(ctx),
});

export const measure = async (inputs: Inputs): Promise<Measured> => {
  const gnuTime = findGnuTime();
  log(
    gnuTime ? `peak RSS via ${gnuTime} -f %M` : 'GNU time not found: peak RSS via VmHWM in /proc/PID/status',
  );
  const ctx: Context = { inputs, gnuTime, bare: await buildBare(inputs.dir), loads: [] };
  await quiet(PLAN.quietWaitMs);
  const startup = await measureStartup(ctx);
  const { statistics, ...throughput } = await measureThroughput(ctx);
  const overhead = await measureOverhead(ctx);
  const memory = await measureMemory(ctx);
  const records = await measureRecords(ctx, statistics);
  const rssSource = gnuTime ? 'gnu-time' : 'proc-vmhwm';
  return { rssSource, startup, throughput, overhead, memory, records, loads: ctx.loads };
};
