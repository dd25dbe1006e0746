import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PipelineSpecError } from '../../src/core/pipeline/errors.ts';
import { Pipeline } from '../../src/core/pipeline/pipeline.ts';
import { outputCompression, StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';
import { taskContext } from '../support/task-context.ts';

const fixtures = fileURLToPath(new URL('../fixtures/steps/', import.meta.url));

const resolveSpec = (spec: string, mode?: 'lines' | 'bytes') =>
  StepRegistry.builtIn().resolve(parsePipelineSpec(spec), mode);

describe('StepRegistry.resolve', () => {
  it('names the bare values of a step by its positional parameters', () => {
    // Prepare
    const spec = 'validate:ndjson,transform:filter:pattern=^x,compress:brotli:level=11';

    // Act
    const steps = resolveSpec(spec);

    // Assess
    expect(steps.map((s) => s.params)).toEqual([
      { format: 'ndjson' },
      { op: 'filter', pattern: '^x' },
      { algorithm: 'brotli', level: 11 },
    ]);
  });

  it.each([
    { spec: 'zip', message: /unknown step zip; known steps: validate, transform, compress, chaos/ },
    { spec: 'compress:gzip:speed=3', message: /step compress: unknown parameter speed/ },
    { spec: 'compress:gzip:level=10', message: /step compress: parameter level: level is 0-9 for gzip/ },
    { spec: 'compress:deflate:level=10', message: /step compress: parameter level: level is 0-9/ },
    { spec: 'compress:brotli:level=12', message: /step compress: parameter level/ },
    { spec: 'compress:zstd', message: /step compress: parameter algorithm/ },
    { spec: 'transform:filter', message: /step transform: parameter pattern: pattern=<regex> is required/ },
    { spec: 'transform:uppercase:pattern=x', message: /step transform: parameter pattern/ },
    { spec: 'transform:filter:pattern=(', message: /parameter pattern: not an RE2 regular expression/ },
    { spec: 'chaos:fail=2', message: /step chaos: parameter fail/ },
    { spec: 'chaos:boom', message: /step chaos: unexpected bare value "boom"/ },
    { spec: 'compress:gzip:9', message: /step compress: unexpected bare value "9"/ },
    { spec: 'compress:gzip:algorithm=brotli', message: /step compress: parameter algorithm is given twice/ },
    { spec: 'transform:normalize,validate', message: /validate must come before transform/ },
    { spec: 'compress:gzip,validate', message: /validate must come before compress/ },
    {
      spec: 'compress:gzip:level=0x3',
      message: /parameter level: "0x3" is not a number: write decimal digits/,
    },
    { spec: 'compress:gzip:level=1e0', message: /parameter level: "1e0" is not a number/ },
    { spec: 'compress:gzip:level=%206', message: /parameter level: " 6" is not a number/ },
    { spec: 'compress:gzip:level=6%20', message: /parameter level: "6 " is not a number/ },
    { spec: 'chaos:fail=+0.5', message: /parameter fail: "\+0.5" is not a number/ },
    { spec: 'chaos:fail=.5', message: /parameter fail: ".5" is not a number/ },
    { spec: 'chaos:seed=', message: /parameter seed: "" is not a number/ },
    { spec: 'chaos:seed=Infinity', message: /parameter seed: "Infinity" is not a number/ },
  ])('rejects $spec with a message naming the step or parameter', ({ spec, message }) => {
    // Prepare
    const resolve = () => resolveSpec(spec);

    // Act & Assess
    expect(resolve).toThrow(PipelineSpecError);
    expect(resolve).toThrow(message);
  });

  it.each(['compress:gzip:level=9', 'compress:deflate:level=0', 'compress:brotli:level=11'])(
    'accepts the highest or lowest level in "%s"',
    (spec) => {
      // Prepare
      const resolve = () => resolveSpec(spec);

      // Act & Assess
      expect(resolve).not.toThrow();
    },
  );

  it('allows validate after a step that leaves the data as it is, or one that is disabled', () => {
    // Prepare
    const spec =
      'chaos:fail=0.1,transform:uppercase:enabled=false,validate,compress:gzip,validate:enabled=false';

    // Act
    const steps = resolveSpec(spec);

    // Assess
    expect(steps.map((s) => s.spec.name)).toEqual(['chaos', 'transform', 'validate', 'compress', 'validate']);
  });

  it('rejects a text step on bytes chunks', () => {
    // Prepare
    const resolve = () => resolveSpec('transform:uppercase', 'bytes');

    // Act & Assess
    expect(resolve).toThrow(/step transform works on text and needs lines chunking, not bytes/);
  });

  it('allows byte steps, and a disabled text step, on bytes chunks', () => {
    // Prepare
    const spec = 'validate,transform:uppercase:enabled=false,chaos:fail=0.5,compress:gzip';

    // Act
    const steps = resolveSpec(spec, 'bytes');

    // Assess
    expect(steps).toHaveLength(4);
  });

  // validate:ndjson decodes each chunk and parses it line by line, like a text step: on bytes chunks a
  // cut falls inside a line, and the two halves of a good record fail as bad JSON, permanently.
  it('rejects validate:ndjson on bytes chunks, which cut lines in two', () => {
    // Prepare
    const resolve = () => resolveSpec('validate:ndjson', 'bytes');

    // Act & Assess
    expect(resolve).toThrow(/needs lines chunking/);
  });
});

describe('outputCompression', () => {
  it('is the algorithm of the last enabled step when it compresses, and undefined otherwise', () => {
    // Prepare
    const specs = [
      'validate,compress:brotli',
      'compress:gzip,chaos',
      'compress:gzip,compress:deflate:enabled=false',
    ];

    // Act
    const encodings = specs.map((spec) => outputCompression(resolveSpec(spec)));

    // Assess
    expect(encodings).toEqual(['brotli', undefined, 'gzip']);
  });
});

describe('StepRegistry.load', () => {
  it('adds the default export of a custom module to the built-in steps', async () => {
    // Prepare
    const data = new TextEncoder().encode('abc');

    // Act
    const registry = await StepRegistry.load(['reverse.ts'], fixtures);
    const pipeline = new Pipeline(registry.resolve(parsePipelineSpec('validate,reverse')));
    const { output } = await pipeline.run(data, taskContext(data));

    // Assess
    expect(registry.names).toEqual([
      'validate',
      'transform',
      'compress',
      'chaos',
      'check',
      'calculate',
      'reverse',
    ]);
    expect(registry.modules).toEqual([`${fixtures}reverse.ts`]);
    expect(new TextDecoder().decode(output)).toBe('cba');
  });

  it('rejects a module without a default export naming the module', async () => {
    // Prepare
    const modules = ['no-default.ts'];

    // Act
    const loading = StepRegistry.load(modules, fixtures);

    // Assess
    await expect(loading).rejects.toBeInstanceOf(PipelineSpecError);
    await expect(loading).rejects.toThrow(/no-default\.ts must export default a step definition/);
  });

  it('rejects a module that cannot be loaded', async () => {
    // Prepare
    const modules = ['missing.ts'];

    // Act
    const loading = StepRegistry.load(modules, fixtures);

    // Assess
    await expect(loading).rejects.toThrow(/custom step module .*missing\.ts could not be loaded/);
  });

  it('rejects a step defined twice', async () => {
    // Prepare
    const modules = ['reverse.ts', './reverse.ts'];

    // Act
    const loading = StepRegistry.load(modules, fixtures);

    // Assess
    await expect(loading).rejects.toThrow(/step reverse is defined twice/);
  });
});
