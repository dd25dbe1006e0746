import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { FanoutRun } from './lib/cli.ts';
import {
  durableFigures,
  memoryFigures,
  notes,
  overheadFigures,
  recordFigures,
  throughputFigures,
} from './lib/figures.ts';
import { generateInputs } from './lib/input.ts';
import { type Inputs, log, type Measured, measure } from './lib/measure.ts';
import { PLAN } from './lib/plan.ts';
import { judge, type Report, toConsole, toMarkdown } from './lib/report.ts';

const RESULTS = new URL('./results/', import.meta.url).pathname;
const TINY = 'one short line\n';

const assertNode24 = (): void => {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) throw new Error(`node ${process.versions.node} is too old: run npm run bench (node 24)`);
};

const prepareInputs = async (dir: string): Promise<Inputs> => {
  const paths = {
    main: join(dir, 'main.txt'),
    memorySmall: join(dir, 'memory-small.txt'),
    memoryLarge: join(dir, 'memory-large.txt'),
    tiny: join(dir, 'tiny.txt'),
    ndjsonMain: join(dir, 'records-main.ndjson'),
    ndjsonLarge: join(dir, 'records-large.ndjson'),
  };
  const started = performance.now();
  const files = [
    { path: paths.main, target: PLAN.sizes.main },
    { path: paths.memorySmall, target: PLAN.sizes.memorySmall },
    { path: paths.memoryLarge, target: PLAN.sizes.memoryLarge },
  ];
  const records = [
    { path: paths.ndjsonMain, target: PLAN.sizes.main },
    { path: paths.ndjsonLarge, target: PLAN.sizes.memoryLarge },
  ];
  const bytes = new Map([
    ...(await generateInputs(files, PLAN.seed)),
    ...(await generateInputs(records, PLAN.seed, 'ndjson')),
  ]);
  writeFileSync(paths.tiny, TINY);
  bytes.set(paths.tiny, Buffer.byteLength(TINY));
  const total = [...bytes.values()].reduce((sum, b) => sum + b, 0);
  log(
    `generated ${(total / 2 ** 20).toFixed(0)} MiB of input in ${(performance.now() - started).toFixed(0)} ms`,
  );
  return { dir, ...paths, bytes };
};

const ROOT = new URL('../', import.meta.url).pathname;
const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });

/** The code measured: the commit, and a digest of any uncommitted change to src/ so that runs can be told apart. */
const gitCommit = (): string => {
  try {
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const untracked = git('ls-files', '--others', '--exclude-standard', 'src').split('\n').filter(Boolean);
    const diff =
      git('diff', 'HEAD', '--', 'src') +
      untracked.map((path) => path + readFileSync(join(ROOT, path), 'utf8')).join('');
    const digest = createHash('sha256').update(diff).digest('hex').slice(0, 12);
    return diff === '' ? head : `${head} + uncommitted src/ changes (diff sha256 ${digest})`;
  } catch {
    return 'unknown';
  }
};

const worstLoad = (measured: Measured): number =>
  Math.max(0, ...measured.loads.filter((s) => !s.discarded).map((s) => s.foreignLoad ?? 0));

const environment = (inputs: Inputs, measured: Measured, code: Code): Report['environment'] => ({
  node: process.versions.node,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
  commit: code.atStart,
  quick: PLAN.quick,
  workerThreads: PLAN.threads,
  peakRssSource: measured.rssSource,
  worstOtherLoad: `${(worstLoad(measured) * 100).toFixed(0)}% of the CPU`,
  inputBytes: [...inputs.bytes].map(([path, bytes]) => `${path.split('/').at(-1)}=${bytes}`).join(' '),
});

/** A run's view without its per-target breakdown, which the figures do not use. */
const slim = ({ wallMs, exitedAt, peakRssKiB, view }: FanoutRun) => ({
  wallMs,
  exitedAt,
  peakRssKiB,
  view: { ...view, stats: { ...view.stats, targets: undefined } },
});

const rawMeasurements = (measured: Measured): Report['measurements'] => ({
  startup: measured.startup.map(slim),
  throughput: {
    ...measured.throughput,
    engine: measured.throughput.engine.map(slim),
    durable: measured.throughput.durable.map(slim),
  },
  overhead: {
    engine: measured.overhead.engine.map(slim),
    engineWithOut: slim(measured.overhead.engineWithOut),
    ceiling: measured.overhead.ceiling,
  },
  memory: {
    small: slim(measured.memory.small),
    large: slim(measured.memory.large),
    largeDurable: slim(measured.memory.largeDurable),
    largeCeiling: measured.memory.largeCeiling,
  },
  records: {
    statistics: measured.records.statistics.map(slim),
    statisticsLarge: slim(measured.records.statisticsLarge),
    sort: { ...measured.records.sort, run: slim(measured.records.sort.run) },
  },
  otherLoad: measured.loads,
});

const loadWarning = (measured: Measured): string[] => {
  const noisy = measured.loads.filter((s) => !s.discarded && (s.foreignLoad ?? 0) > PLAN.noisyLoad);
  if (noisy.length === 0) return [];
  const list = noisy.map((s) => `${s.label} (${((s.foreignLoad ?? 0) * 100).toFixed(0)}%)`).join(', ');
  return [
    `WARNING: other processes used more than ${PLAN.noisyLoad * 100}% of the CPU during: ${list}. Rerun on an idle machine before trusting these figures.`,
  ];
};

const warnings = (measured: Measured, code: Code): string[] => [
  ...(code.atEnd === code.atStart
    ? []
    : [`WARNING: src/ changed during the run, from ${code.atStart} to ${code.atEnd}: the figures mix both.`]),
  ...loadWarning(measured),
];

interface Code {
  atStart: string;
  atEnd: string;
}

const buildReport = (inputs: Inputs, measured: Measured, code: Code): Report => ({
  generatedAt: new Date().toISOString(),
  environment: environment(inputs, measured, code),
  figures: [
    ...throughputFigures(inputs, measured),
    ...overheadFigures(measured),
    ...memoryFigures(inputs, measured),
    ...durableFigures(inputs, measured),
    ...recordFigures(inputs, measured),
  ].map(judge),
  notes: [...warnings(measured, code), ...notes(measured)],
  measurements: rawMeasurements(measured),
});

/** The bytes out and chunks of a run, in the shape of a ceiling's or the bare program's result. */
const work = (run: FanoutRun | undefined) =>
  run && { bytesOut: run.view.stats.bytes.out, chunks: run.view.chunksCompleted };

/**
 * gzip is deterministic, so a fair comparison has the engine, the durable engine, the ceiling and the
 * bare program produce the same bytes.
 */
const checkSameWork = ({ throughput, memory, records }: Measured): void => {
  // A reduce's result is the same bytes however its chunks were run.
  const reduced = new Set(records.statistics.map((run) => run.view.stats.bytes.out));
  if (reduced.size !== 1) throw new Error('the statistics runs did different work');
  const pairs = [
    ...throughput.engine.flatMap((run, i) => [
      { run, other: work(throughput.durable[i]), what: `the durable engine, round ${i + 1}` },
      { run, other: throughput.ceiling[i], what: `the ceiling, round ${i + 1}` },
      { run, other: throughput.bare[i], what: `the bare program, round ${i + 1}` },
    ]),
    { run: memory.large, other: work(memory.largeDurable), what: 'the durable engine, on the large input' },
    { run: memory.large, other: memory.largeCeiling, what: 'the ceiling, on the large input' },
  ];
  for (const { run, other, what } of pairs) {
    const same = run.view.stats.bytes.out === other?.bytesOut && run.view.chunksCompleted === other.chunks;
    if (!same) throw new Error(`the engine and ${what} did different work`);
  }
};

const save = (report: Report): void => {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'latest.md'), toMarkdown(report));
};

/** The bench measures the bundle, so it builds it from the sources it is about to report on. */
const build = (): void => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  log('built dist/ from the current sources (npm run build)');
};

const main = async (): Promise<void> => {
  assertNode24();
  build();
  const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-'));
  // On Ctrl-C or a crash `finally` does not run, and more than a gigabyte of input must not be left behind.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  process.once('SIGINT', () => process.exit(130));
  try {
    const code = { atStart: gitCommit(), atEnd: '' };
    const inputs = await prepareInputs(dir);
    const measured = await measure(inputs);
    code.atEnd = gitCommit();
    checkSameWork(measured);
    const report = buildReport(inputs, measured, code);
    save(report);
    const footer = 'Saved bench/results/latest.json and bench/results/latest.md';
    process.stdout.write(`\n${toConsole(report)}\n\n${report.notes.join('\n\n')}\n\n${footer}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

await main();
