import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.ts';
import { jobRequestFrom } from '../../src/config/job.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { UsageError } from '../../src/core/errors.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { createEngine } from '../../src/engine/from-config.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-config-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const writeYaml = async (name: string, text: string): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

const chunkSizeFlag = (value: unknown) => ({ path: ['chunking', 'size'], value, flag: '--chunk-size' });

describe('loadConfig precedence', () => {
  it('takes a setting from the config file over the default', async () => {
    // Prepare
    const file = await writeYaml('file-only.yaml', 'chunking:\n  size: 2048\n');

    // Act
    const config = loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(config.chunking.size).toBe(2048);
  });

  it('takes a FANOUT_ variable over the config file', async () => {
    // Prepare
    const file = await writeYaml('env-over-file.yaml', 'chunking:\n  size: 2048\n');

    // Act
    const config = loadConfig({ file, env: { FANOUT_CHUNKING_SIZE: '4096' }, cwd: dir });

    // Assess
    expect(config.chunking.size).toBe(4096);
  });

  it('takes a flag over both the variable and the config file', async () => {
    // Prepare
    const file = await writeYaml('flag-over-all.yaml', 'chunking:\n  size: 2048\n');

    // Act
    const config = loadConfig({
      file,
      env: { FANOUT_CHUNKING_SIZE: '4096' },
      flags: [chunkSizeFlag(8192)],
      cwd: dir,
    });

    // Assess
    expect(config.chunking.size).toBe(8192);
  });

  it('overrides one key of a section and keeps the file’s other keys in it', async () => {
    // Prepare
    const file = await writeYaml('merge.yaml', 'chunking:\n  mode: bytes\n  size: 2048\n');

    // Act
    const config = loadConfig({ file, env: { FANOUT_CHUNKING_SIZE: '4096' }, cwd: dir });

    // Assess
    expect(config.chunking).toEqual({ mode: 'bytes', size: 4096 });
  });

  it('reads fanout.config.yaml from the working directory when no file is named', async () => {
    // Prepare
    const cwd = await mkdtemp(join(dir, 'cwd-'));
    await writeFile(join(cwd, 'fanout.config.yaml'), 'workers_per_target: 2\n');

    // Act
    const config = loadConfig({ env: {}, cwd });

    // Assess
    expect(config.workers_per_target).toBe(2);
  });
});

describe('loadConfig defaults', () => {
  it('follows the documented defaults', () => {
    // Prepare
    const sources = { env: {}, cwd: dir };

    // Act
    const config = loadConfig(sources);

    // Assess
    expect(config.workers_per_target).toBe(4);
    expect(config.retry.max_attempts).toBe(4);
    expect(config.balancer).toEqual({ strategy: 'least_loaded', rebalance_threshold: 0.3 });
    expect(config.pipeline).toBe('validate,transform:normalize');
    expect(config.chunking).toEqual({ mode: 'lines', size: 65536 });
    expect(config.targets).toEqual(['aws', 'gcp']);
    expect(config.max_pending_chunks).toBe(1024);
    expect(config.max_pending_bytes).toBe(16 * 2 ** 20);
  });
});

describe('loadConfig errors', () => {
  it('names an unknown key of the file and the file', async () => {
    // Prepare
    const file = await writeYaml('unknown-key.yaml', 'retry:\n  max_atempts: 3\n');

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow('max_atempts');
    expect(load).toThrow(file);
  });

  it('names a value of the wrong type, its key and the file', async () => {
    // Prepare
    const file = await writeYaml('wrong-type.yaml', 'chunking:\n  size: big\n');

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(/chunking\.size .*wrong-type\.yaml.*expected number/);
  });

  it('names a chunk size out of range and the flag that set it', () => {
    // Prepare
    const flags = [chunkSizeFlag(10)];

    // Act
    const load = () => loadConfig({ env: {}, flags, cwd: dir });

    // Assess
    expect(load).toThrow(/chunking\.size \(from --chunk-size\).*1024/);
  });

  it('lists the allowed strategies for an unknown one', async () => {
    // Prepare
    const file = await writeYaml('bad-enum.yaml', 'balancer:\n  strategy: fastest\n');

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(/balancer\.strategy \(from .*bad-enum\.yaml\)/);
    for (const strategy of ['round_robin', 'least_loaded', 'random', 'weighted']) {
      expect(load).toThrow(strategy);
    }
  });

  it('names an unknown FANOUT_ variable and lists the known ones', () => {
    // Prepare
    const env = { FANOUT_CHUNK_SIZE: '2048' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow(/unknown setting FANOUT_CHUNK_SIZE; known variables: .*FANOUT_CHUNKING_SIZE/);
  });

  it('rejects a boolean variable that is neither true nor false', () => {
    // Prepare
    const env = { FANOUT_RETRY_REDISTRIBUTE: 'maybe' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow('FANOUT_RETRY_REDISTRIBUTE must be true or false, got "maybe"');
  });

  it('names a config file that does not exist', () => {
    // Prepare
    const file = 'missing.yaml';

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow(`config file ${join(dir, 'missing.yaml')} does not exist`);
  });

  it('names a config file given by FANOUT_CONFIG that does not exist', () => {
    // Prepare
    const env = { FANOUT_CONFIG: 'elsewhere.yaml' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow(join(dir, 'elsewhere.yaml'));
  });

  it('names an unknown key of a step in a pipeline list and the file', async () => {
    // Prepare
    const file = await writeYaml(
      'step-typo.yaml',
      'pipeline:\n  - step: validate\n    parms: { format: ndjson }\n',
    );

    // Act
    const load = () => loadConfig({ file, env: {}, cwd: dir });

    // Assess
    expect(load).toThrow('pipeline.0.parms');
    expect(load).toThrow(file);
  });

  it('names the variable that set a bad weight', () => {
    // Prepare
    const env = { FANOUT_WEIGHTS: 'aws=x' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow(/weights\.aws \(from FANOUT_WEIGHTS\)/);
  });

  it("names priority.shares when the lanes' shares do not sum to 100", () => {
    // Prepare
    const env = { FANOUT_PRIORITY_SHARES_LOW: '20' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow(/priority\.shares.*sum to 100/);
  });

  it('names the lane that is unknown in priority.default', () => {
    // Prepare
    const env = { FANOUT_PRIORITY_DEFAULT: 'urgent' };

    // Act
    const load = () => loadConfig({ env, cwd: dir });

    // Assess
    expect(load).toThrow(/priority\.default \(from FANOUT_PRIORITY_DEFAULT\)/);
  });
});

describe('a pipeline written as a list of steps in the config file', () => {
  it('becomes the steps of a job, with their parameters', async () => {
    // Prepare
    const file = await writeYaml(
      'step-list.yaml',
      [
        'pipeline:',
        '  - step: validate',
        '    params: { format: ndjson }',
        '  - step: transform',
        '    params: { op: uppercase }',
        '    timeout_ms: 500',
        '  - step: compress',
        '    params: { algorithm: gzip }',
        '    enabled: false',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: {}, cwd: dir });

    // Act
    const request = jobRequestFrom(config);

    // Assess
    expect(request.pipeline).toEqual([
      { name: 'validate', params: { format: 'ndjson' }, enabled: true, timeoutMs: 30_000 },
      { name: 'transform', params: { op: 'uppercase' }, enabled: true, timeoutMs: 500 },
      { name: 'compress', params: { algorithm: 'gzip' }, enabled: false, timeoutMs: 30_000 },
    ]);
  });
});

describe('jobRequestFrom', () => {
  let config: Config;
  let engine: Engine;

  beforeAll(async () => {
    config = loadConfig({
      env: {},
      cwd: dir,
      flags: [{ path: ['workers_per_target'], value: 1, flag: '--workers' }],
    });
    engine = await createEngine(config, { baseDir: dir });
  });

  afterAll(() => engine.close());

  it('takes every setting from the config when a job sets none', () => {
    // Prepare
    const overrides = {};

    // Act
    const request = jobRequestFrom(config, overrides);

    // Assess
    expect(request).toEqual({
      pipeline: [
        { name: 'validate', params: {}, enabled: true, timeoutMs: 30_000 },
        { name: 'transform', params: { $0: 'normalize' }, enabled: true, timeoutMs: 30_000 },
      ],
      chunking: { mode: 'lines', size: 65536 },
      maxAttempts: 4,
      strategy: 'least_loaded',
      targets: ['aws', 'gcp'],
      priority: 'medium',
    });
  });

  it('puts the job’s own options over the config', () => {
    // Prepare
    const overrides = {
      pipeline: 'validate,compress:gzip',
      chunking: 'bytes',
      chunkSize: '2048',
      maxAttempts: '2',
      strategy: 'round_robin',
      targets: 'gcp',
    };

    // Act
    const request = jobRequestFrom(config, overrides);

    // Assess
    expect(request.pipeline.map((step) => step.name)).toEqual(['validate', 'compress']);
    expect(request).toMatchObject({
      chunking: { mode: 'bytes', size: 2048 },
      maxAttempts: 2,
      strategy: 'round_robin',
      targets: ['gcp'],
    });
  });

  it('names an unknown option and lists the allowed ones', () => {
    // Prepare
    const overrides = { chunk_size: '2048' };

    // Act
    const build = () => jobRequestFrom(config, overrides);

    // Assess
    expect(build).toThrow(UsageError);
    expect(build).toThrow(/unknown option chunk_size; allowed: .*chunkSize/);
  });

  it.each(['abc', '-5', '1.5', 'NaN', ''])('rejects chunkSize "%s"', (chunkSize) => {
    // Prepare
    const overrides = { chunkSize };

    // Act
    const build = () => jobRequestFrom(config, overrides);

    // Assess
    expect(build).toThrow(`chunkSize must be a whole number, got "${chunkSize}"`);
  });

  it('rejects a chunkSize out of range', () => {
    // Prepare
    const overrides = { chunkSize: '10' };

    // Act
    const build = () => jobRequestFrom(config, overrides);

    // Assess
    expect(build).toThrow(/chunk size .* from 1024 to 1048576, got 10/);
  });

  it.each(['-1', 'NaN', '2.5'])('rejects maxAttempts "%s"', (maxAttempts) => {
    // Prepare
    const overrides = { maxAttempts };

    // Act
    const build = () => jobRequestFrom(config, overrides);

    // Assess
    expect(build).toThrow(`maxAttempts must be a whole number, got "${maxAttempts}"`);
  });

  it.each(['0', '101'])('rejects maxAttempts "%s" before a job starts, naming the bounds', (maxAttempts) => {
    // Prepare
    const request = jobRequestFrom(config, { maxAttempts });

    // Act
    const prepare = () => engine.prepare(request);

    // Assess
    expect(prepare).toThrow(`maxAttempts must be a whole number from 1 to 100, got ${maxAttempts}`);
  });

  it('lists the allowed values of a bad strategy', () => {
    // Prepare
    const overrides = { strategy: 'fastest' };

    // Act
    const build = () => jobRequestFrom(config, overrides);

    // Assess
    expect(build).toThrow(
      'strategy must be one of round_robin, least_loaded, random, weighted, cheapest, got "fastest"',
    );
  });
});
