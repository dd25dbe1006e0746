import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costing } from '../../src/config/core-options.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfig } from '../../src/config/load.ts';
import { queueAddress } from '../../src/config/queue-address.ts';
import { CLEAN_ENV, runFanout } from '../support/cli-process.ts';
import { everyLane } from '../support/lanes.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-cost-config-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const yaml = async (name: string, text: string): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

describe('cost.prices', () => {
  it('replaces the list price a file names and keeps the others', async () => {
    // Prepare
    const file = await yaml('price.yaml', 'cost:\n  prices:\n    sqs_per_million_requests: 0.3\n');

    // Act
    const { prices } = costing(loadConfig({ file, env: {}, cwd: dir }));

    // Assess
    expect(prices.sqs_per_million_requests).toBe(0.3);
    expect(prices.pubsub_per_tib).toBe(40);
  });

  it('refuses a negative price, naming its key and the file', async () => {
    // Prepare
    const file = await yaml('negative.yaml', 'cost:\n  prices:\n    pubsub_per_tib: -1\n');

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /cost\.prices\.pubsub_per_tib \(from .*negative\.yaml\): a price is a number of US dollars, 0 or more/,
    );
  });

  it('refuses a price that is not a number, naming its key and the variable', () => {
    // Prepare
    const env = { FANOUT_COST_PRICES_LAMBDA_ARM_PER_GB_SECOND: 'cheap' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow(
      /cost\.prices\.lambda_arm_per_gb_second \(from FANOUT_COST_PRICES_LAMBDA_ARM_PER_GB_SECOND\): a price is a number of US dollars/,
    );
  });

  it('refuses a price a file gives as text', async () => {
    // Prepare
    const file = await yaml('text.yaml', 'cost:\n  prices:\n    s3_put_per_thousand: "0.005"\n');

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(/cost\.prices\.s3_put_per_thousand .*a price is a number of US dollars/);
  });

  it('refuses an unknown price key, naming it', async () => {
    // Prepare
    const file = await yaml('unknown.yaml', 'cost:\n  prices:\n    sqs_fifo_per_million: 0.5\n');

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(/unknown setting cost\.prices\.sqs_fifo_per_million/);
  });

  it('exits 2 from the CLI, naming the key', async () => {
    // Prepare
    const env = { ...CLEAN_ENV, FANOUT_COST_PRICES_SQS_PER_MILLION_REQUESTS: '-0.4' };
    const input = await yaml('input.txt', 'a\n');

    // Act
    const exit = await runFanout(['run', input, '--pipeline', 'validate'], { cwd: dir, env });

    // Assess
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain('cost.prices.sqs_per_million_requests');
  });
});

describe('cost.target_clouds', () => {
  it('refuses a configured target with no cloud, naming the target', async () => {
    // Prepare
    const file = await yaml('targets.yaml', 'targets: [aws, edge]\n');

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(/cost\.target_clouds\.edge: target edge has no cloud to be priced as/);
  });

  it('prices a target as the cloud the file gives it', async () => {
    // Prepare
    const file = await yaml('edge.yaml', 'targets: [aws, edge]\ncost:\n  target_clouds:\n    edge: gcp\n');

    // Act
    const { clouds } = costing(loadConfig({ file, env: {}, cwd: dir }));

    // Assess
    expect(clouds).toEqual({ aws: 'aws', gcp: 'gcp', edge: 'gcp' });
  });

  it('takes the whole map from its variable', () => {
    // Prepare
    const env = { FANOUT_TARGETS: 'a,b', FANOUT_COST_TARGET_CLOUDS: 'a=aws,b=gcp' };

    // Act
    const { clouds } = costing(loadConfig({ env, cwd: dir }));

    // Assess
    expect(clouds).toEqual({ a: 'aws', b: 'gcp' });
  });

  it('refuses a cloud other than aws or gcp', () => {
    // Prepare
    const env = { FANOUT_COST_TARGET_CLOUDS: 'aws=aws,gcp=azure' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow(/cost\.target_clouds\.gcp \(from FANOUT_COST_TARGET_CLOUDS\)/);
  });

  it('is replaced on the cloud by the kind of each target queue', () => {
    // Prepare
    const config = loadConfig({ env: {}, cwd: dir });
    const queues = {
      aws: everyLane(queueAddress.parse('https://sqs.us-east-1.amazonaws.com/1/fanout-aws')),
      gcp: everyLane(queueAddress.parse('projects/p/topics/fanout-gcp')),
      eu: everyLane(queueAddress.parse('projects/p/topics/fanout-eu')),
    };

    // Act
    const { clouds } = costing(config, queues);

    // Assess
    expect(clouds).toEqual({ aws: 'aws', gcp: 'gcp', eu: 'gcp' });
  });
});
