/**
 * Issue 24's acceptance tests on the embedded engine: record steps over half a million NDJSON records cut
 * into hundreds of chunks, run on both targets while a chaos step fails a fifth of the tries. Every
 * expectation is worked out here, with plain loops over the parsed input, never with src/core/records.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { createEngine } from '../../src/engine/from-config.ts';
import { seededRandom } from '../support/prng.ts';

const RECORDS = 500_000;
/** Small enough that the input (about 45 MB) is cut into several hundred chunks. */
const CHUNK_SIZE = 64 * 1024;
const MIN_CHUNKS = 200;
/** At a failure rate of 0.2 a try, a chunk fails all 12 tries once in 4e8: every job completes. */
const MAX_ATTEMPTS = 12;
/** 19 region names and "7", which records hold as the string "7" or as the number 7: 20 groups. */
const REGIONS = [...Array.from({ length: 19 }, (_, i) => `r${String(i).padStart(2, '0')}`), '7'];
const QUANTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;
const STATISTICS_KEYS = [
  'count',
  'skipped',
  'sum',
  'mean',
  'min',
  'max',
  'stddev',
  'p50',
  'p90',
  'p95',
  'p99',
];

/**
 * The pipelines the tests read, each with a chaos step failing a fifth of the tries (seeded, so a run is
 * repeatable): before a calculate, which ends its pipeline, and after a check, so that tries which
 * fail have rejected records already.
 */
const PIPELINES = {
  statistics: 'chaos:fail=0.2:seed=1,calculate:op=statistics:field=amount',
  sortAsc: 'chaos:fail=0.2:seed=2,calculate:op=sort:field=rank',
  sortDesc: 'chaos:fail=0.2:seed=3,calculate:op=sort:field=rank:order=desc',
  sortDescLimit: 'chaos:fail=0.2:seed=4,calculate:op=sort:field=rank:order=desc:limit=1000',
  check: 'check:email:field=email,chaos:fail=0.2:seed=5',
  statisticsBy: 'chaos:fail=0.2:seed=6,calculate:op=statistics:field=amount:by=region',
} as const;
type JobName = keyof typeof PIPELINES;

// ---------------------------------------------------------------------------------------------------
// The input

const randomInt = (random: () => number, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));

/** An amount: whole, with one decimal or with two, a tenth of them negative. */
const amountOf = (random: () => number): number => {
  const kind = random();
  const cents =
    kind < 0.4
      ? randomInt(random, 0, 5000) * 100
      : kind < 0.7
        ? randomInt(random, 1, 50_000) * 10
        : randomInt(random, 1, 500_000);
  // Not `-1 * 0`: JSON writes -0 as 0.
  return random() < 0.1 && cents !== 0 ? -cents / 100 : cents / 100;
};

const INVALID_EMAILS: readonly ((i: number) => unknown)[] = [
  (i) => `user${i}-at-example.com`,
  (i) => `user${i}@localhost`,
  (i) => `user ${i}@example.com`,
  () => '@example.com',
  (i) => `user${i}@@example.com`,
  (i) => `user${i}@-example.com`,
  () => '',
  () => null,
  (i) => i,
];

/**
 * The input's lines: records with an `id`, and (each sometimes missing) an `amount` (a number, or a
 * string or null), a `region`, an `email` (4% of them not valid) and a `rank` to sort by (numbers with
 * many duplicates, a few strings, or null); and, now and then, a blank line.
 */
const generateLines = (): string[] => {
  const random = seededRandom(2024);
  const lines: string[] = [];
  for (let i = 0; i < RECORDS; i++) {
    if (random() < 0.001) lines.push('');
    const record: Record<string, unknown> = { id: i };
    const amount = random();
    if (amount < 0.04) {
      // No amount.
    } else if (amount < 0.06) record.amount = String(amountOf(random));
    else if (amount < 0.08) record.amount = null;
    else record.amount = amountOf(random);
    const region = random();
    if (region < 0.05) {
      // No region.
    } else if (region < 0.06) record.region = null;
    else {
      const name = REGIONS[randomInt(random, 0, REGIONS.length - 1)] as string;
      record.region = name === '7' && random() < 0.5 ? 7 : name;
    }
    const email = random();
    if (email < 0.01) {
      // No email.
    } else if (email < 0.04) {
      record.email = (
        INVALID_EMAILS[randomInt(random, 0, INVALID_EMAILS.length - 1)] as (i: number) => unknown
      )(i);
    } else record.email = random() < 0.5 ? `user${i}@example.com` : `first.last+${i}@mail.example.org`;
    const rank = random();
    if (rank < 0.03) {
      // No rank.
    } else if (rank < 0.04) record.rank = null;
    else if (rank < 0.07) record.rank = `k${randomInt(random, 0, 9)}`;
    else if (rank < 0.1) record.rank = randomInt(random, -50, 950) + 0.5;
    else record.rank = randomInt(random, -50, 950);
    lines.push(JSON.stringify(record));
  }
  return lines;
};

/** The records of the input as the tests read them: one column a field, indexed by the record's place. */
interface Parsed {
  /** Each record's line, as written. */
  texts: string[];
  /** Each record's line number in the input, from 1 (blank lines count). */
  lineNumbers: Int32Array;
  /** Each record's `amount` where it is a number; NaN (which JSON cannot hold) where it is not one. */
  amounts: Float64Array;
  /** The group each record's `region` puts it in, as an index in `groups`; -1 when it gives none. */
  regions: Int8Array;
  groups: string[];
  /** The records whose `email` is not a valid address, by place, with that value (undefined: missing). */
  invalidEmails: Map<number, unknown>;
  /** What each record's `rank` is: 0 none, 1 a number (in `rankNumbers`), 2 a string (in `rankStrings`). */
  rankKinds: Uint8Array;
  rankNumbers: Float64Array;
  rankStrings: string[];
}

/**
 * The pragmatic address of check:email: one `@`, a non-empty local part without whitespace, a domain of two
 * or more labels of ASCII letters, digits and inner hyphens (1 to 63 each), and 254 characters at most.
 */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const EMAIL = new RegExp(`^[^@\\s]+@${LABEL}(?:\\.${LABEL})+$`);
const isEmail = (value: unknown): boolean =>
  typeof value === 'string' && EMAIL.test(value) && (value.length <= 254 || [...value].length <= 254);

const parseInput = (input: string): Parsed => {
  const parsed: Parsed = {
    texts: [],
    lineNumbers: new Int32Array(RECORDS),
    amounts: new Float64Array(RECORDS),
    regions: new Int8Array(RECORDS),
    groups: [],
    invalidEmails: new Map(),
    rankKinds: new Uint8Array(RECORDS),
    rankNumbers: new Float64Array(RECORDS),
    rankStrings: [],
  };
  const groupOf = new Map<string, number>();
  for (const [at, text] of input.split('\n').entries()) {
    if (text === '') continue;
    const { amount, region, email, rank } = JSON.parse(text) as Record<string, unknown>;
    const i = parsed.texts.length;
    parsed.texts.push(text);
    parsed.lineNumbers[i] = at + 1;
    parsed.amounts[i] = typeof amount === 'number' ? amount : Number.NaN;
    // A number's group is its text: the number 7 and the string "7" are one group.
    const group =
      typeof region === 'string' ? region : typeof region === 'number' ? String(region) : undefined;
    if (group !== undefined && !groupOf.has(group)) groupOf.set(group, parsed.groups.push(group) - 1);
    parsed.regions[i] = group === undefined ? -1 : (groupOf.get(group) as number);
    if (!isEmail(email)) parsed.invalidEmails.set(i, email);
    if (typeof rank === 'number') {
      parsed.rankKinds[i] = 1;
      parsed.rankNumbers[i] = rank;
    } else if (typeof rank === 'string') {
      parsed.rankKinds[i] = 2;
      parsed.rankStrings[i] = rank;
    }
  }
  return parsed;
};

// ---------------------------------------------------------------------------------------------------
// The expected results

/** The statistics of some values, worked out plainly: numbers count, anything else is skipped. */
class Reference {
  count = 0;
  skipped = 0;
  /** The exact sum, in cents: every amount has two decimals at most. */
  cents = 0n;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  readonly values: number[] = [];

  /** Counts a number, and skips NaN: a value that was not one. */
  add(value: number): void {
    if (Number.isNaN(value)) {
      this.skipped++;
      return;
    }
    this.count++;
    this.cents += BigInt(Math.round(value * 100));
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.values.push(value);
  }

  /** The exact sum of the decimals, as decimal text, rounded once to the nearest double. */
  sum(): number {
    const digits = (this.cents < 0n ? -this.cents : this.cents).toString().padStart(3, '0');
    return Number(`${this.cents < 0n ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`);
  }

  /**
   * The exact sum of the doubles themselves, rounded once: each value here is 0 or at least 0.01 > 2^-8 in
   * magnitude, so a multiple of 2^-60, and times 2^60 an integer.
   */
  sumOfDoubles(): number {
    let scaled = 0n;
    for (const value of this.values) scaled += BigInt(value * 2 ** 60);
    return Number(scaled) / 2 ** 60;
  }

  mean(): number {
    return this.sum() / this.count;
  }

  /** The population standard deviation, in two passes. */
  stddev(): number {
    const mean = this.mean();
    let squares = 0;
    for (const value of this.values) squares += (value - mean) ** 2;
    return Math.sqrt(squares / this.count);
  }

  /** The value at rank max(1, ceil(q n)) of the values in increasing order, for each quantile. */
  quantiles(): [name: string, value: number][] {
    const sorted = Float64Array.from(this.values).sort();
    return QUANTILES.map(([name, q]) => [name, sorted[Math.max(1, Math.ceil(q * this.count)) - 1] as number]);
  }
}

/** Asserts a job's statistics of some values against their reference. */
const expectStatistics = (actual: Record<string, unknown>, reference: Reference, label: string): void => {
  expect(actual, label).toMatchObject({
    count: reference.count,
    skipped: reference.skipped,
    sum: reference.sum(),
    min: reference.min,
    max: reference.max,
  });
  // The exact sum of the decimals written and that of the doubles read, each rounded once: the same here.
  expect(actual.sum, label).toBe(reference.sumOfDoubles());
  expect(Math.abs((actual.mean as number) / reference.mean() - 1), `${label} mean`).toBeLessThan(1e-9);
  expect(Math.abs((actual.stddev as number) / reference.stddev() - 1), `${label} stddev`).toBeLessThan(1e-9);
  for (const [name, truth] of reference.quantiles()) {
    const error = Math.abs((actual[name] as number) - truth);
    expect(error, `${label} ${name}: ${actual[name]} for ${truth}`).toBeLessThanOrEqual(
      0.01 * Math.abs(truth),
    );
  }
};

/**
 * The records' lines sorted by rank, once for each order: stable (as Array.prototype.sort is), numbers
 * first, then strings (ASCII here, so `<` compares their code points), that order reversed for desc, then
 * the records without a rank, in input order.
 */
const sorted = new Map<'asc' | 'desc', string[]>();
const sortedByRank = (parsed: Parsed, order: 'asc' | 'desc'): string[] => {
  const known = sorted.get(order);
  if (known !== undefined) return known;
  const { rankKinds: kinds, rankNumbers: numbers, rankStrings: strings, texts } = parsed;
  const keyed: number[] = [];
  const keyless: number[] = [];
  for (let i = 0; i < kinds.length; i++) (kinds[i] === 0 ? keyless : keyed).push(i);
  const sign = order === 'asc' ? 1 : -1;
  const ascending = (i: number, j: number): number => {
    const kind = (kinds[i] as number) - (kinds[j] as number);
    if (kind !== 0) return kind;
    if (kinds[i] === 1) return (numbers[i] as number) - (numbers[j] as number);
    const a = strings[i] as string;
    const b = strings[j] as string;
    return a < b ? -1 : a > b ? 1 : 0;
  };
  keyed.sort((i, j) => sign * ascending(i, j));
  const lines = [...keyed, ...keyless].map((i) => texts[i] as string);
  sorted.set(order, lines);
  return lines;
};

/** Where `text` parts first from the `expected` lines, each ended by a newline; undefined when nowhere. */
const firstDifference = (text: string, expected: readonly string[]): string | undefined => {
  let at = 0;
  for (const [i, line] of expected.entries()) {
    if (!text.startsWith(line, at) || text.charCodeAt(at + line.length) !== 0x0a) {
      const end = text.indexOf('\n', at);
      return `line ${i + 1} is ${JSON.stringify(text.slice(at, end < 0 ? undefined : end))}, not ${line}`;
    }
    at += line.length + 1;
  }
  return at === text.length ? undefined : `more after line ${expected.length}: ${text.slice(at, at + 200)}`;
};

// ---------------------------------------------------------------------------------------------------
// The jobs

interface Ran {
  view: JobView;
  tasks: TaskRecord[];
}

let dir: string;
let config: Config;
let engine: Engine;
let parsed: Parsed;
/** The jobs, all started on one engine at once, so that they share its threads. */
let jobs: Record<JobName, Promise<Ran>>;

const runJob = async (inputPath: string, pipeline: string): Promise<Ran> => {
  const request = jobRequestFrom(config, { pipeline, chunkSize: String(CHUNK_SIZE), targets: 'aws,gcp' });
  const handle = await engine.submit({ path: inputPath }, request);
  const view = await handle.done;
  return { view, tasks: (await engine.listTasks(handle.jobId)) ?? [] };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-records-fan-in-'));
  const inputPath = join(dir, 'input.ndjson');
  await writeFile(inputPath, `${generateLines().join('\n')}\n`);
  config = loadConfig({
    env: { FANOUT_RETRY_MAX_ATTEMPTS: String(MAX_ATTEMPTS), FANOUT_RETRY_BASE_DELAY_MS: '1' },
    cwd: dir,
  });
  engine = await createEngine(config, { baseDir: dir });
  jobs = Object.fromEntries(
    Object.entries(PIPELINES).map(([name, pipeline]) => {
      const ran = runJob(inputPath, pipeline);
      // Its test awaits it; a failure before then is not unhandled.
      ran.catch(() => {});
      return [name, ran];
    }),
  ) as Record<JobName, Promise<Ran>>;
  // The engine reads the input meanwhile.
  parsed = parseInput(await readFile(inputPath, 'utf8'));
}, 60_000);

// Together the jobs can take longer than one test's timeout on a busy machine; each test reads its own.
beforeAll(async () => {
  await Promise.allSettled(Object.values(jobs));
}, 300_000);

afterAll(async () => {
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

const collect = async (source: AsyncIterable<Uint8Array>): Promise<string> => {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts).toString('utf8');
};

/** The job completed every one of its hundreds of chunks, on both targets, some of them after retries. */
const expectCompletedUnderChaos = ({ view, tasks }: Ran): void => {
  expect(view).toMatchObject({ status: 'completed', chunksFailed: 0 });
  expect(view.chunksTotal).toBeGreaterThanOrEqual(MIN_CHUNKS);
  expect(view.chunksCompleted).toBe(view.chunksTotal);
  expect(view.stats.retries).toBeGreaterThan(0);
  expect(view.stats.targets.aws?.completed).toBeGreaterThan(0);
  expect(view.stats.targets.gcp?.completed).toBeGreaterThan(0);
  expect(tasks).toHaveLength(view.chunksTotal as number);
  expect(new Set(tasks.map((task) => task.attempts.at(-1)?.target))).toEqual(new Set(['aws', 'gcp']));
  expect(tasks.filter((task) => task.attempts.length > 1).length).toBeGreaterThan(0);
};

describe('calculate:op=statistics over 500,000 records on both targets under chaos', () => {
  it('gives the exact count, skipped, sum, min and max, and the mean, stddev and quantiles', async () => {
    // Prepare
    const reference = new Reference();
    for (const amount of parsed.amounts) reference.add(amount);

    // Act
    const ran = await jobs.statistics;
    const text = await collect(engine.readResult(ran.view.jobId));

    // Assess
    expectCompletedUnderChaos(ran);
    expect(text.endsWith('}\n')).toBe(true);
    const result = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['op', 'field', ...STATISTICS_KEYS]);
    expect(result).toMatchObject({ op: 'statistics', field: 'amount' });
    expect(reference.skipped).toBeGreaterThan(0.05 * RECORDS);
    expectStatistics(result, reference, 'all');
  });
});

describe('calculate:op=sort over 500,000 records on both targets under chaos', () => {
  it.each([
    ['ascending', 'sortAsc', 'asc', undefined],
    ['descending', 'sortDesc', 'desc', undefined],
    ['descending, the first 1000 only', 'sortDescLimit', 'desc', 1000],
  ] as const)(
    'gives the records sorted by rank, %s, equal ranks in input order',
    async (_, job, order, limit) => {
      // Prepare
      const expected = sortedByRank(parsed, order).slice(0, limit);

      // Act
      const ran = await jobs[job];
      const text = await collect(engine.readResult(ran.view.jobId));

      // Assess
      expectCompletedUnderChaos(ran);
      expect(firstDifference(text, expected)).toBeUndefined();
    },
  );
});

describe('check:email over 500,000 records on both targets under chaos', () => {
  it('rejects exactly the invalid records, once each with its line, and passes the others on as they were', async () => {
    // Prepare
    const valid: string[] = [];
    /** Each reject but its reason, as JSON text; and its reason: "missing" where there is no email. */
    const invalid: string[] = [];
    const reasons: unknown[] = [];
    for (const [i, text] of parsed.texts.entries()) {
      if (!parsed.invalidEmails.has(i)) {
        valid.push(text);
        continue;
      }
      const value = parsed.invalidEmails.get(i);
      invalid.push(
        JSON.stringify({ line: parsed.lineNumbers[i], field: 'email', rule: 'email', value: value ?? null }),
      );
      reasons.push(value === undefined ? 'missing' : expect.stringMatching(/^\w/));
    }

    // Act
    const ran = await jobs.check;
    const output = await collect(engine.readResult(ran.view.jobId));
    const rejectsText = await collect(engine.readRejects(ran.view.jobId));

    // Assess
    expectCompletedUnderChaos(ran);
    expect(firstDifference(output, valid)).toBeUndefined();
    const rejects = rejectsText
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(invalid.length).toBeGreaterThan(0.03 * RECORDS);
    const withoutReasons = rejects.map(({ line, field, rule, value }) =>
      JSON.stringify({ line, field, rule, value }),
    );
    expect(firstDifference(`${withoutReasons.join('\n')}\n`, invalid)).toBeUndefined();
    expect(rejects.map((reject) => reject.reason)).toEqual(reasons);
    expect(new Set(rejects.map((reject) => Object.keys(reject).join()))).toEqual(
      new Set(['line,field,rule,value,reason']),
    );
    expect(ran.tasks.reduce((sum, task) => sum + (task.rejected ?? 0), 0)).toBe(invalid.length);
    // Chunks whose failed tries had rejected records already, and still have them once.
    expect(
      ran.tasks.filter((task) => task.attempts.length > 1 && (task.rejected ?? 0) > 0).length,
    ).toBeGreaterThan(0);
  });
});

// Last: by now the engine has stored this job's reduced result, which a reader before that reduces again.
describe('calculate:op=statistics:by=region over 500,000 records on both targets under chaos', () => {
  it("gives each group's exact count, skipped, sum, min and max, and exactly the groups there are", async () => {
    // Prepare
    let ungrouped = 0;
    const references = parsed.groups.map(() => new Reference());
    for (const [i, group] of parsed.regions.entries()) {
      if (group < 0) ungrouped++;
      else (references[group] as Reference).add(parsed.amounts[i] as number);
    }
    const keys = [...parsed.groups].sort();

    // Act
    const ran = await jobs.statisticsBy;
    const text = await collect(engine.readResult(ran.view.jobId));

    // Assess
    expectCompletedUnderChaos(ran);
    const result = JSON.parse(text) as { groups: Record<string, Record<string, unknown>> };
    expect(Object.keys(result)).toEqual(['op', 'field', 'by', 'skipped', 'groups']);
    expect(result).toMatchObject({ op: 'statistics', field: 'amount', by: 'region', skipped: ungrouped });
    expect(keys).toEqual([...REGIONS].sort());
    expect(Object.keys(result.groups).sort()).toEqual(keys);
    // In the text, groups go in code point order: "7", though an integer-like key, before "r00".
    expect([...text.matchAll(/"([^"]*)":\{"count"/g)].map((match) => match[1])).toEqual(keys);
    for (const [g, key] of parsed.groups.entries()) {
      const group = result.groups[key] as Record<string, unknown>;
      const reference = references[g] as Reference;
      expect(Object.keys(group)).toEqual(STATISTICS_KEYS);
      expectStatistics(group, reference, `group ${key}`);
    }
  });
});
