import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Chunk, chunkStream, sha256Hex } from '../../src/core/chunker.ts';
import {
  ChunkValidationError,
  PoisonChunkError,
  StepTimeoutError,
  TargetUnavailableError,
  TransientError,
} from '../../src/core/errors.ts';
import { Pipeline, type TaskContext } from '../../src/core/pipeline/pipeline.ts';
import { buildRun, StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';
import type { StepRun } from '../../src/core/pipeline/step.ts';
import { taskContext } from '../support/task-context.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decoded = (data: Uint8Array): string => new TextDecoder().decode(data);

const build = (spec: string): Pipeline =>
  new Pipeline(StepRegistry.builtIn().resolve(parsePipelineSpec(spec)));

/** Runs a pipeline on one chunk as a worker would, with the chunk's own SHA-256 unless told otherwise. */
const run = async (spec: string, data: Uint8Array, task: Partial<TaskContext> = {}): Promise<Uint8Array> =>
  (await build(spec).run(data, taskContext(data, task))).output;

describe('validate step', () => {
  it('passes a sound chunk through unchanged', async () => {
    // Prepare
    const data = text('{"a":1}\n\n{"b":[2]}\n');

    // Act
    const output = await run('validate:ndjson', data);

    // Assess
    expect(output).toEqual(data);
  });

  it('rejects an empty chunk permanently', async () => {
    // Prepare
    const data = new Uint8Array(0);

    // Act
    const result = run('validate', data, { index: 4 });

    // Assess
    await expect(result).rejects.toBeInstanceOf(ChunkValidationError);
    await expect(result).rejects.toMatchObject({ message: 'chunk 4 is empty', retryable: false });
  });

  it('rejects a chunk whose SHA-256 differs from the one taken at ingest', async () => {
    // Prepare
    const data = text('corrupted in transit\n');

    // Act
    const result = run('validate', data, { index: 2, sha256: sha256Hex(text('as ingested\n')) });

    // Assess
    await expect(result).rejects.toBeInstanceOf(ChunkValidationError);
    await expect(result).rejects.toThrow(/chunk 2: SHA-256 differs/);
  });

  it('rejects an ndjson chunk with a line that is not JSON, naming the line', async () => {
    // Prepare
    const data = text('{"a":1}\n{"b":\n{"c":3}\n');

    // Act
    const result = run('validate:ndjson', data, { index: 3 });

    // Assess
    await expect(result).rejects.toBeInstanceOf(ChunkValidationError);
    await expect(result).rejects.toThrow('chunk 3, line 2: not valid JSON');
  });
});

describe('transform step', () => {
  it.each([
    { name: 'trims and collapses spaces and tabs', input: '  a \t  b\t\tc  \n\t d \n', output: 'a b c\nd\n' },
    { name: 'composes to NFC', input: 'caf\u0065\u0301\n', output: 'caf\u00e9\n' },
    { name: 'writes LF line ends', input: 'a \r\nb\r\n', output: 'a\nb\n' },
    { name: 'keeps blank lines', input: 'a\n   \nb\n', output: 'a\n\nb\n' },
    { name: 'adds no final newline', input: 'a  b\nc  d', output: 'a b\nc d' },
  ])('normalize $name', async ({ input, output }) => {
    // Prepare
    const data = text(input);

    // Act
    const result = await run('transform:normalize', data);

    // Assess
    expect(decoded(result)).toBe(output);
  });

  it('normalize gives the same output chunk by chunk as on the whole input', async () => {
    // Prepare
    const lines = Array.from({ length: 200 }, (_, i) => `  item\t ${i}  cafe\u0301 \r\n`).join('');
    const input = text(lines);
    const chunks: Chunk[] = [];
    async function* source() {
      yield input;
    }
    for await (const chunk of chunkStream(source(), 'job-1', { mode: 'lines', size: 1024 }))
      chunks.push(chunk);

    // Act
    const outputs = await Promise.all(chunks.map((c) => run('transform:normalize', c.data)));

    // Assess
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(outputs)).toEqual(Buffer.from(await run('transform:normalize', input)));
  });

  it('uppercase and lowercase change the case of every letter', async () => {
    // Prepare
    const data = text('Héllo Wörld\n');

    // Act
    const upper = await run('transform:uppercase', data);
    const lower = await run('transform:lowercase', data);

    // Assess
    expect(decoded(upper)).toBe('HÉLLO WÖRLD\n');
    expect(decoded(lower)).toBe('héllo wörld\n');
  });

  it('filter keeps the lines that match the pattern', async () => {
    // Prepare
    const data = text('ok 1\nerror 2\nok 3\nERROR 4\nerror 5\n');

    // Act
    const output = await run('transform:filter:pattern=^error \\d$', data);

    // Assess
    expect(decoded(output)).toBe('error 2\nerror 5\n');
  });

  it('filter runs a backtracking pattern on a long line to its end (RE2, linear time)', async () => {
    // Prepare
    const data = text(`${'a'.repeat(50_000)}b\nxaa\n`);

    // Act
    const output = await run('transform:filter:pattern=(a+)+$', data);

    // Assess
    expect(decoded(output)).toBe('xaa\n');
  });

  it.each([
    ['a backreference', '(a)\\1', /invalid escape sequence/],
    ['a lookahead', 'a(?=b)', /unsupported Perl syntax/],
  ])('filter refuses %s, which RE2 cannot run, naming the parameter', (_name, pattern, reason) => {
    // Prepare
    const spec = parsePipelineSpec(`transform:filter:pattern=${encodeURIComponent(pattern)}`);

    // Act
    const resolve = () => StepRegistry.builtIn().resolve(spec);

    // Assess
    expect(resolve).toThrow(/step transform: parameter pattern: not an RE2 regular expression/);
    expect(resolve).toThrow(reason);
  });

  it('filter gives an empty chunk when no line matches', async () => {
    // Prepare
    const data = text('ok 1\nok 2\n');

    // Act
    const output = await run('transform:filter:pattern=error', data);

    // Assess
    expect(output.byteLength).toBe(0);
  });
});

describe('compress step', () => {
  it.each([
    { spec: 'compress:gzip', decompress: gunzipSync },
    { spec: 'compress:gzip:level=1', decompress: gunzipSync },
    { spec: 'compress:deflate:level=9', decompress: inflateSync },
    { spec: 'compress:brotli', decompress: brotliDecompressSync },
    { spec: 'compress:brotli:level=11', decompress: brotliDecompressSync },
  ])('$spec round-trips through node:zlib', async ({ spec, decompress }) => {
    // Prepare
    const data = text('{"id":1,"name":"fanout"}\n'.repeat(200));

    // Act
    const output = await run(spec, data);

    // Assess
    expect(output.byteLength).toBeLessThan(data.byteLength);
    expect(decompress(output)).toEqual(Buffer.from(data));
  });

  it('gzip outputs of a job concatenated in chunk order gunzip to the input', async () => {
    // Prepare
    const input = text(Array.from({ length: 500 }, (_, i) => `{"i":${i}}\n`).join(''));
    const chunks: Chunk[] = [];
    async function* source() {
      yield input;
    }
    for await (const chunk of chunkStream(source(), 'job-1', { mode: 'lines', size: 1024 }))
      chunks.push(chunk);

    // Act
    const outputs = await Promise.all(chunks.map((c) => run('validate,compress:gzip', c.data)));

    // Assess
    expect(chunks.length).toBeGreaterThan(2);
    expect(gunzipSync(Buffer.concat(outputs))).toEqual(Buffer.from(input));
  });
});

describe('chaos step', () => {
  it('passes the chunk through when no fault is injected', async () => {
    // Prepare
    const data = text('payload\n');

    // Act
    const output = await run('chaos', data);

    // Assess
    expect(output).toEqual(data);
  });

  it('fail=1 throws a retryable TransientError', async () => {
    // Prepare
    const data = text('payload\n');

    // Act
    const result = run('chaos:fail=1', data, { index: 5, attempt: 2 });

    // Assess
    await expect(result).rejects.toBeInstanceOf(TransientError);
    await expect(result).rejects.toMatchObject({ retryable: true });
  });

  it('poison=1 throws a PoisonChunkError, which is not retryable', async () => {
    // Prepare
    const data = text('payload\n');

    // Act
    const result = run('chaos:poison=1', data, { index: 9 });

    // Assess
    await expect(result).rejects.toBeInstanceOf(PoisonChunkError);
    await expect(result).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('9') });
  });

  it('poisons exactly the chunks whose seeded roll is under the fraction', async () => {
    // Prepare
    const data = text('payload\n');
    const seed = 7;
    const poison = 0.3;
    const indexes = Array.from({ length: 200 }, (_, i) => i);
    const roll = (index: number) =>
      createHash('sha256').update(`${seed}:poison:${index}`).digest().readUIntBE(0, 6) / 2 ** 48;
    const expected = indexes.filter((index) => roll(index) < poison);

    // Act
    const outcomes = await Promise.all(
      indexes.map((index) =>
        run(`chaos:poison=${poison}:seed=${seed}`, data, { index }).then(
          () => false,
          (error: unknown) => error instanceof PoisonChunkError,
        ),
      ),
    );
    const poisoned = indexes.filter((index) => outcomes[index]);

    // Assess
    expect(expected.length).toBeGreaterThan(40);
    expect(expected.length).toBeLessThan(80);
    expect(poisoned).toEqual(expected);
  });

  it.each([
    { name: 'before the outage', target: 'aws', startedAgoMs: 5_000, fails: false },
    { name: 'during the outage', target: 'aws', startedAgoMs: 15_000, fails: true },
    { name: 'after the outage', target: 'aws', startedAgoMs: 25_000, fails: false },
    { name: 'on another target during the outage', target: 'gcp', startedAgoMs: 15_000, fails: false },
  ])('target outage with after and for windows: $name', async ({ target, startedAgoMs, fails }) => {
    // Prepare
    const data = text('payload\n');
    const spec = 'chaos:target=aws:after=10000:for=10000';

    // Act
    const result = run(spec, data, { target, jobStartedAt: Date.now() - startedAgoMs });

    // Assess
    if (fails) await expect(result).rejects.toBeInstanceOf(TargetUnavailableError);
    else await expect(result).resolves.toEqual(data);
  });

  it('target outage without for lasts for ever', async () => {
    // Prepare
    const data = text('payload\n');

    // Act
    const result = run('chaos:target=aws', data, { jobStartedAt: Date.now() - 1e9 });

    // Assess
    await expect(result).rejects.toThrow('target aws is unavailable');
  });

  it('a delay longer than the step timeout fails the step with StepTimeoutError', async () => {
    // Prepare
    const data = text('payload\n');

    // Act
    const result = run('chaos:delay=60000:timeout=20', data);

    // Assess
    await expect(result).rejects.toBeInstanceOf(StepTimeoutError);
  });

  it('a delay ends as soon as its signal aborts', async () => {
    // Prepare
    const data = text('payload\n');
    const [step] = StepRegistry.builtIn().resolve(parsePipelineSpec('chaos:delay=60000'));
    const controller = new AbortController();
    const delayed = (buildRun(step as NonNullable<typeof step>) as StepRun)(data, {
      ...taskContext(data),
      signal: controller.signal,
    });

    // Act
    controller.abort(new Error('stop'));

    // Assess
    await expect(delayed).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('every built-in step', () => {
  // The engine hands built-in steps the chunk where it lies in its arena, not a copy (Pipeline.onlyReadsInput).
  it.each([
    'validate',
    'validate:ndjson',
    'transform:normalize',
    'transform:uppercase',
    'transform:lowercase',
    'transform:filter:pattern=a',
    'compress:gzip',
    'compress:deflate',
    'compress:brotli',
    'chaos:delay=1',
  ])('%s leaves its input as it was', async (spec) => {
    // Prepare
    const data = text(' {"a":\t"Mixed  Case"}\r\n{"b":"ÄÖ"}\n');
    const before = data.slice();

    // Act
    await run(spec, data);

    // Assess
    expect(data).toEqual(before);
  });
});
