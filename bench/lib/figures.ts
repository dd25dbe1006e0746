import { DEFAULTS } from '../../src/config/schema.ts';
import { MiB } from '../../src/core/constants.ts';
import type { FanoutRun } from './cli.ts';
import type { Inputs, Measured } from './measure.ts';
import { PLAN } from './plan.ts';
import type { Figure } from './report.ts';

const MB = 1e6;

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
};

const mbPerSecond = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);

const sizeLabel = (bytes: number): string =>
  bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(0)} MiB`;

const bytesOf = (inputs: Inputs, path: string): number => inputs.bytes.get(path) as number;

export const startupMs = (measured: Measured): number => median(measured.startup.map((run) => run.wallMs));

const medianWallMs = (runs: readonly { wallMs: number }[]): number => median(runs.map((run) => run.wallMs));

export const throughputFigures = (inputs: Inputs, measured: Measured): Figure[] => {
  const bytes = bytesOf(inputs, inputs.main);
  const { engine, ceiling, bare } = measured.throughput;
  const engineRate = mbPerSecond(bytes, medianWallMs(engine));
  const ceilingRate = mbPerSecond(bytes, medianWallMs(ceiling));
  const bareRate = mbPerSecond(bytes, medianWallMs(bare));
  const warmRate = mbPerSecond(bytes, medianWallMs(engine) - startupMs(measured));
  const runs = `median of ${PLAN.repeats}`;
  return [
    {
      id: '1',
      label: `fanout run end to end, ${sizeLabel(bytes)}, ${PLAN.pipeline} (${runs})`,
      value: engineRate,
      unit: 'MB/s',
    },
    {
      id: '2a',
      label: `ceiling: same steps on ${PLAN.threads} bare worker threads (${runs})`,
      value: ceilingRate,
      unit: 'MB/s',
    },
    {
      id: '2b',
      label: 'engine / ceiling',
      value: engineRate / ceilingRate,
      unit: '',
      target: { op: '>=', value: PLAN.goals.ratio },
    },
    {
      id: '2c',
      label: 'engine / ceiling, CLI start-up (3c) subtracted',
      value: warmRate / ceilingRate,
      unit: '',
    },
    largeRatio(inputs, measured),
    {
      id: '2e',
      label: `bare program: the job's own work with no orchestration, timed as 1 is (${runs})`,
      value: bareRate,
      unit: 'MB/s',
    },
    {
      id: '2f',
      label: 'bare program / ceiling: about the most 2b can be here',
      value: bareRate / ceilingRate,
      unit: '',
    },
    {
      id: '2g',
      label: 'engine / bare program: what orchestration costs',
      value: engineRate / bareRate,
      unit: '',
    },
  ];
};

/** The same ratio on the large input of 4b, where start-up weighs four times less: one run of each. */
const largeRatio = (inputs: Inputs, { memory }: Measured): Figure => {
  const bytes = bytesOf(inputs, inputs.memoryLarge);
  const engine = mbPerSecond(bytes, memory.large.wallMs);
  const ceiling = mbPerSecond(bytes, memory.largeCeiling.wallMs);
  return {
    id: '2d',
    label: `engine / ceiling on the ${sizeLabel(bytes)} input (${engine.toFixed(1)} / ${ceiling.toFixed(1)} MB/s, one run each)`,
    value: engine / ceiling,
    unit: '',
  };
};

export const overheadFigures = (measured: Measured): Figure[] => {
  const { engine, engineWithOut, ceiling } = measured.overhead;
  const chunks = (engine[0] as FanoutRun).view.chunksCompleted;
  const engineMs = medianWallMs(engine);
  const perTaskUs = ((engineMs - startupMs(measured) - ceiling.wallMs) * 1000) / chunks;
  return [
    {
      id: '3a',
      label: `per-task overhead, no steps, ${chunks} chunks of ≤ 1 KiB (median of ${PLAN.repeats})`,
      value: perTaskUs,
      unit: 'µs',
      target: { op: '<=', value: PLAN.goals.perTaskUs },
    },
    {
      id: '3b',
      label: 'wall time / chunks, no steps, start-up included',
      value: (engineMs * 1000) / chunks,
      unit: 'µs',
    },
    {
      id: '3c',
      label: `CLI start-up: 1 chunk, no steps (median of ${PLAN.startupRuns})`,
      value: startupMs(measured),
      unit: 'ms',
    },
    {
      id: '3d',
      label: 'writing the result (--out /dev/null), no steps, per chunk',
      value: ((engineWithOut.wallMs - engineMs) * 1000) / chunks,
      unit: 'µs',
    },
  ];
};

export const memoryFigures = (inputs: Inputs, { memory }: Measured): Figure[] => {
  const small = memory.small.peakRssKiB / 1024;
  const large = memory.large.peakRssKiB / 1024;
  const rss = { op: '<=', value: PLAN.goals.rssMiB } as const;
  return [
    {
      id: '4a',
      label: `peak RSS, ${sizeLabel(bytesOf(inputs, inputs.memorySmall))} input`,
      value: small,
      unit: 'MiB',
      target: rss,
    },
    {
      id: '4b',
      label: `peak RSS, ${sizeLabel(bytesOf(inputs, inputs.memoryLarge))} input`,
      value: large,
      unit: 'MiB',
      target: rss,
    },
    {
      id: '4c',
      label: 'peak RSS growth, large / small',
      value: large / small,
      unit: '',
      target: { op: '<=', value: PLAN.goals.rssGrowth },
    },
  ];
};

/**
 * The durable engine (`fanout run --data-dir`) against the in-memory one of 1 on the same input, runs
 * alternated; and on the large input, its peak RSS and the same ratio, one run each.
 */
export const durableFigures = (inputs: Inputs, { throughput, memory }: Measured): Figure[] => {
  const bytes = bytesOf(inputs, inputs.main);
  const durableRate = mbPerSecond(bytes, medianWallMs(throughput.durable));
  const memoryRate = mbPerSecond(bytes, medianWallMs(throughput.engine));
  const large = bytesOf(inputs, inputs.memoryLarge);
  const largeDurable = mbPerSecond(large, memory.largeDurable.wallMs);
  const largeMemory = mbPerSecond(large, memory.large.wallMs);
  const rates = (a: number, b: number): string => `${a.toFixed(1)} / ${b.toFixed(1)} MB/s`;
  return [
    {
      id: '5a',
      label: `fanout run --data-dir, the input, pipeline and --out of 1 (median of ${PLAN.repeats})`,
      value: durableRate,
      unit: 'MB/s',
    },
    {
      id: '5b',
      label: `durable / in-memory engine: 5a / 1 (${rates(durableRate, memoryRate)})`,
      value: durableRate / memoryRate,
      unit: '',
      target: { op: '>=', value: PLAN.goals.durableRatio },
    },
    {
      id: '5c',
      label: `durable / in-memory on the ${sizeLabel(large)} input (${rates(largeDurable, largeMemory)}, one run each)`,
      value: largeDurable / largeMemory,
      unit: '',
    },
    {
      id: '5d',
      label: `peak RSS, fanout run --data-dir, ${sizeLabel(large)} input`,
      value: memory.largeDurable.peakRssKiB / 1024,
      unit: 'MiB',
      target: { op: '<=', value: PLAN.goals.rssMiB },
    },
  ];
};

/** Seconds from the job's last chunk ending to the process's exit: closing, the fan-in and the writing. */
const afterLastChunkS = (run: FanoutRun): number =>
  (run.exitedAt - Date.parse(run.view.completedAt ?? run.view.updatedAt)) / 1000;

const maxRssMiB = (runs: readonly FanoutRun[]): number =>
  Math.max(...runs.map((run) => run.peakRssKiB)) / 1024;

/**
 * Record steps (issue 24): the statistics pipeline on NDJSON of 1's size beside 1, its peak RSS, the same
 * on the large NDJSON input, and the large NDJSON input sorted into a file, checked sorted.
 */
export const recordFigures = (inputs: Inputs, { throughput, records }: Measured): Figure[] => {
  const bytes = bytesOf(inputs, inputs.ndjsonMain);
  const large = bytesOf(inputs, inputs.ndjsonLarge);
  const statsRate = mbPerSecond(bytes, medianWallMs(records.statistics));
  const gzipRate = mbPerSecond(bytesOf(inputs, inputs.main), medianWallMs(throughput.engine));
  const { statisticsLarge, sort } = records;
  const rss = { op: '<=', value: PLAN.goals.rssMiB } as const;
  const runs = `median of ${PLAN.repeats}`;
  return [
    {
      id: '6a',
      label: `fanout run, ${sizeLabel(bytes)} of NDJSON, ${PLAN.statistics} (${runs}; 1's gzip pipeline: ${gzipRate.toFixed(1)} MB/s)`,
      value: statsRate,
      unit: 'MB/s',
    },
    {
      id: '6b',
      label: `peak RSS of 6a's runs, the highest of ${PLAN.repeats}`,
      value: maxRssMiB(records.statistics),
      unit: 'MiB',
      target: rss,
    },
    {
      id: '6c',
      label: `peak RSS, statistics of ${sizeLabel(large)} of NDJSON, ${statisticsLarge.view.chunksCompleted} chunks (${mbPerSecond(large, statisticsLarge.wallMs).toFixed(1)} MB/s, one run)`,
      value: statisticsLarge.peakRssKiB / 1024,
      unit: 'MiB',
      target: rss,
    },
    {
      id: '6d',
      label: "6c's last chunk to exit: closing, reducing the chunks' partials, writing the result",
      value: afterLastChunkS(statisticsLarge),
      unit: 's',
    },
    {
      id: '6e',
      label: `fanout run --out FILE, ${sizeLabel(large)} of NDJSON sorted: ${PLAN.sort}, ${sort.run.view.chunksCompleted} chunks (one run)`,
      value: mbPerSecond(large, sort.run.wallMs),
      unit: 'MB/s',
    },
    {
      id: '6f',
      label: `peak RSS of 6e (output checked: ${sort.output.records} records, ascending ${PLAN.recordField})`,
      value: sort.run.peakRssKiB / 1024,
      unit: 'MiB',
      target: rss,
    },
    {
      id: '6g',
      label: "6e's last chunk to exit: closing, merging the sorted runs, writing the file",
      value: afterLastChunkS(sort.run),
      unit: 's',
    },
  ];
};

export const notes = (measured: Measured): string[] => [
  `MB = 10^6 bytes, MiB = 2^20. Inputs: lines of 4–14 pseudo-random lowercase words (Mulberry32, seed ${PLAN.seed}), streamed into a temp dir and deleted afterwards; the smaller inputs are prefixes of the larger ones.`,
  `1: wall time of the child \`node dist/fanout.js run FILE --pipeline ${PLAN.pipeline} --chunk-size ${PLAN.chunk} --json --out /dev/null\`, from spawn to exit, so process start-up and writing the result are included; input bytes / wall time. dist/fanout.js is the esbuild bundle of bin/fanout.ts that \`npm start\` runs; the bench builds it from the current sources before measuring.`,
  `2: the same input cut by the engine's own chunker (SHA-256 included) before the clock starts; ${PLAN.threads} node:worker_threads Workers, as many as the engine's shared pool starts (config threads: ${DEFAULTS.threads}${DEFAULTS.threads === 0 ? ', one per core' : ''}, the rule of src/engine/from-config.ts), each receive a contiguous share of the chunks, transferred, and build the pipeline as src/engine/worker.ts does; the clock runs from the start signal to the last worker done. 2b = 1 / 2a. 2c is for diagnosis only: 1 recomputed with the start-up time of 3c taken off. 2d: the run of 4b against the ceiling measured the same way on the same 1 GiB input, once each. 2e: bench/bare/, bundled as dist/ is, run as a child process and timed from spawn to exit like 1, on the same input with the same --out: it reads the input straight into memory shared with ${PLAN.threads} worker threads, cuts it where the engine's chunker cuts and hashes each chunk (SHA-256), sends one message per batch of about 1 MiB to the threads, which run the same step functions on the chunks where they lie, and writes the outputs in chunk order; it copies no chunk and has no queue, task store, balancer, retries, stats or configuration. What it pays beyond the ceiling (process and thread start-up, reading and hashing the input, one message per batch) every engine pays too, so 2f is about the most 2b could be on this machine, and 2g is what orchestration costs beyond the job's own work.`,
  `3a = ((T_engine − T_startup) − T_ceiling) / chunks. T_engine: median wall time of ${PLAN.repeats} runs of \`fanout run\` with --pipeline '' (no steps) and --chunk-size ${PLAN.smallChunk} on the main input, without --out, so that it times the engine rather than the writing of the result. T_startup: median wall time of the same command on a 1-chunk input (${PLAN.startupRuns} runs: process start, config, worker threads starting, exit). T_ceiling: the no-step ceiling measured as in 2 on the same chunks. 3b = T_engine / chunks. 3d = (T_engine with --out /dev/null − T_engine) / chunks: the cost of writing the result, which \`fanout run --out\` pays once the engine is done.`,
  `4: peak RSS of the whole \`fanout run\` process (main thread and every worker thread), by ${measured.rssSource === 'gnu-time' ? 'GNU time -f %M' : 'polling VmHWM in /proc/PID/status every 20 ms'}. "Flat" is taken as large / small ≤ ${PLAN.goals.rssGrowth}.`,
  `5: the command of 1 with --data-dir naming a fresh directory beside the inputs, on the same file system, so that the input is kept there by a hard link as the durable engine keeps it: tasks in SQLite (fanout.db, WAL), results in files synced with fdatasync before each task is recorded completed. Each run gets a new directory, removed afterwards. 5a is the median of ${PLAN.repeats} runs, taken in turn with those of 1 (in each round: 1, 5a, 2a, 2e), and 5b = 5a / 1. 5c and 5d: one run on the large input, right after that of 4b; peak RSS measured as in 4.`,
  `6: record steps on NDJSON (bench/lib/input.ts: one record a line, {"id","user","score","n","text"}, about 115 bytes, the score a number with three decimals from -10^6 to 10^6), generated from the same seed at the sizes of the main and the large input, the smaller a prefix of the larger, since 1's input is not NDJSON. 6a: \`fanout run\` on the main-sized one with --pipeline ${PLAN.statistics}, --chunk-size ${PLAN.chunk} and --out /dev/null (the reduced result), one run in each round of 1 (in each round: 1, 5a, 2a, 2e, 6a), median wall time; 6b the highest peak RSS of those runs, measured as 4. 6c: the same pipeline on the large one, one run after 5d; 6d: from the job's completedAt to the process's exit: closing the worker threads, the reduce of every chunk's partial (the engine's, at the job's end) and writing the result. 6e: --pipeline ${PLAN.sort} on the large one with --chunk-size ${PLAN.chunk} (the default) and --out naming a file beside the inputs, one run; then the input and the output are each read once, a MiB at a time, and the output must hold the same records (count, bytes, sum and XOR of the ids) in ascending order of ${PLAN.recordField}, or the bench fails. 6f: its peak RSS, measured as 4: the engine's phase and the merge's, since the process is the same. 6g: as 6d: the merge of the sorted runs (in two levels through a scratch file past 256 runs, see docs/performance.md) and writing the file.`,
  `Other load: the share of all CPU capacity used by processes other than the bench and its children during each measurement (from /proc/stat); on a 2-core machine a busy neighbour skews every figure. A measurement during which it exceeded ${PLAN.noisyLoad * 100}% is discarded and taken again (${PLAN.noisyRetries}×) after waiting up to ${PLAN.quietWaitMs / 1000} s for a quiet machine; the JSON lists every measurement with its load.`,
];
