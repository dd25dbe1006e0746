import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { JobView } from '../../src/core/job.ts';
import type { StatsReport } from '../../src/core/stats/report.ts';
import { createEngine } from '../../src/engine/from-config.ts';

/** 8 lines of 1 KiB: 8 chunks of one line each at a chunk size of 1 KiB, uppercased to as many bytes. */
const INPUT = Array.from({ length: 8 }, (_, i) => `${`line ${i}`.padEnd(1023, '.')}\n`).join('');

/**
 * What one try of a 1 KiB chunk with a 1 KiB output costs with the functions' time priced at 0, by hand:
 * AWS: 0.338 × $0.4/M + 0.0233 × $0.2/M + (1 × $0.625 + 0.047 × $0.125)/M + 0.0233 × $0.005/1k + 0.026 × $0.0004/1k
 */
const AWS_TRY = 8.97635e-7;
/**
 * Google Cloud: (280 + 1,000) B × $40 / 2^40 + $0.4/M + ($0.625 + $0.125)/M + ($0.005 + $0.0004)/1k
 * + 1,024 B × $0.09 / 1e9 + 1,024 B × $0.12 / 2^30
 */
const GCP_TRY = 6.8031670467e-6;

/** Within the 6 significant digits the stats report dollars to. */
const expectDollars = (actual: number | undefined, expected: number): void => {
  expect(Math.abs((actual ?? Number.NaN) - expected)).toBeLessThanOrEqual(expected * 1e-5);
};

let dir: string;
let view: JobView;
let overall: StatsReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-engine-cost-'));
  // Prepare: the functions' time priced at nothing, so that the cost does not hang on how fast a try ran
  const config = loadConfig({
    env: {
      FANOUT_CHUNKING_SIZE: '1024',
      FANOUT_PIPELINE: 'transform:uppercase',
      FANOUT_BALANCER_STRATEGY: 'round_robin',
      FANOUT_COST_PRICES_LAMBDA_ARM_PER_GB_SECOND: '0',
      FANOUT_COST_PRICES_CLOUD_RUN_PER_VCPU_SECOND: '0',
      FANOUT_COST_PRICES_CLOUD_RUN_PER_GIB_SECOND: '0',
    },
    cwd: dir,
  });
  const engine = await createEngine(config, { baseDir: dir });
  try {
    // Act
    const handle = await engine.submit(Readable.from([Buffer.from(INPUT)]), jobRequestFrom(config));
    view = await handle.done;
    overall = engine.stats();
  } finally {
    await engine.close();
  }
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe("an engine job's costUsd", () => {
  it('prices each target as its cloud, from its tries and bytes', () => {
    // Assess
    const { aws, gcp } = view.stats.targets;
    expect(view.chunksCompleted).toBe(8);
    expect((aws?.attempts ?? 0) + (gcp?.attempts ?? 0)).toBe(8);
    expectDollars(aws?.costUsd, (aws?.attempts ?? 0) * AWS_TRY);
    expectDollars(gcp?.costUsd, (gcp?.attempts ?? 0) * GCP_TRY);
  });

  it('adds the targets up in the total', () => {
    // Assess
    const { aws, gcp } = view.stats.targets;
    expectDollars(view.stats.costUsd, (aws?.attempts ?? 0) * AWS_TRY + (gcp?.attempts ?? 0) * GCP_TRY);
  });

  it('is the same in the engine-wide stats', () => {
    // Assess
    expect(overall.costUsd).toBe(view.stats.costUsd);
  });
});
