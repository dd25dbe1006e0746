import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import { PipelineSpecError } from '../../src/core/pipeline/errors.ts';
import { parsePipelineSpec, toStepSpec } from '../../src/core/pipeline/spec.ts';
import { DEFAULT_STEP_TIMEOUT_MS } from '../../src/core/pipeline/step.ts';

describe('parsePipelineSpec', () => {
  it('parses steps with bare values, keeping them under positional keys', () => {
    // Prepare
    const spec = 'validate,transform:uppercase,compress:gzip';

    // Act
    const steps = parsePipelineSpec(spec);

    // Assess
    expect(steps).toEqual([
      { name: 'validate', params: {}, enabled: true, timeoutMs: DEFAULT_STEP_TIMEOUT_MS },
      { name: 'transform', params: { $0: 'uppercase' }, enabled: true, timeoutMs: DEFAULT_STEP_TIMEOUT_MS },
      { name: 'compress', params: { $0: 'gzip' }, enabled: true, timeoutMs: DEFAULT_STEP_TIMEOUT_MS },
    ]);
  });

  it('parses named parameters alongside bare values', () => {
    // Prepare
    const spec = 'validate:ndjson,chaos:fail=0.2:seed=7,transform:normalize,compress:gzip:level=6';

    // Act
    const steps = parsePipelineSpec(spec);

    // Assess
    expect(steps.map(({ name, params }) => ({ name, params }))).toEqual([
      { name: 'validate', params: { $0: 'ndjson' } },
      { name: 'chaos', params: { fail: '0.2', seed: '7' } },
      { name: 'transform', params: { $0: 'normalize' } },
      { name: 'compress', params: { $0: 'gzip', level: '6' } },
    ]);
  });

  it('parses an empty or blank spec as no steps', () => {
    // Prepare
    const specs = ['', '   '];

    // Act
    const parsed = specs.map(parsePipelineSpec);

    // Assess
    expect(parsed).toEqual([[], []]);
  });

  it('ignores spaces around steps', () => {
    // Prepare
    const spec = ' validate , compress:gzip ';

    // Act
    const steps = parsePipelineSpec(spec);

    // Assess
    expect(steps.map((s) => s.name)).toEqual(['validate', 'compress']);
  });

  it('takes the reserved timeout and enabled parameters out of the step parameters', () => {
    // Prepare
    const spec = 'chaos:delay=5:timeout=250:enabled=false,compress:gzip:enabled=true';

    // Act
    const [chaos, compress] = parsePipelineSpec(spec);

    // Assess
    expect(chaos).toEqual({ name: 'chaos', params: { delay: '5' }, enabled: false, timeoutMs: 250 });
    expect(compress).toEqual({
      name: 'compress',
      params: { $0: 'gzip' },
      enabled: true,
      timeoutMs: DEFAULT_STEP_TIMEOUT_MS,
    });
  });

  it('decodes percent-encoded commas and colons in values', () => {
    // Prepare
    const spec = 'transform:filter:pattern=^a%2Cb%3Ac$,chaos:target=gcp%3Aeu';

    // Act
    const [filter, chaos] = parsePipelineSpec(spec);

    // Assess
    expect(filter?.params).toEqual({ $0: 'filter', pattern: '^a,b:c$' });
    expect(chaos?.params).toEqual({ target: 'gcp:eu' });
  });

  it.each([
    { spec: 'validate,,compress:gzip', message: /step 2 of "validate,,compress:gzip" has no name/ },
    { spec: ':gzip', message: /step 1 of ":gzip" has no name/ },
    { spec: 'compress:=x', message: /step compress: parameter "=x" has no name/ },
    { spec: 'compress:level=1:level=2', message: /step compress: parameter level is given twice/ },
    { spec: 'validate:timeout=0', message: /step validate: timeout must be a whole number.*got 0/ },
    { spec: 'validate:timeout=1.5', message: /step validate: timeout .*got 1\.5/ },
    { spec: 'validate:timeout=soon', message: /step validate: timeout .*got soon/ },
    { spec: 'validate:enabled=yes', message: /step validate: enabled must be true or false, got yes/ },
    { spec: 'chaos:target=%E0%A4%A', message: /step chaos: %E0%A4%A is not valid percent-encoding/ },
    { spec: 'compress:gzip:__proto__=x', message: /step compress: "__proto__" is not a parameter name/ },
    { spec: 'compress:gzip:constructor.x=1', message: /"constructor.x" is not a parameter name/ },
    { spec: 'validate:timeout=0x3e8', message: /step validate: timeout .*got 0x3e8/ },
    { spec: 'validate:timeout=1e3', message: /step validate: timeout .*got 1e3/ },
    { spec: 'validate:timeout=%201000', message: /step validate: timeout .*got {2}1000/ },
    { spec: 'validate:timeout=+1000', message: /step validate: timeout .*got \+1000/ },
    {
      spec: 'validate:timeout=900001',
      message: /timeout must be a whole number of milliseconds from 1 to 900000/,
    },
    { spec: 'validate:timeout=2147483648', message: /from 1 to 900000, got 2147483648/ },
  ])('rejects $spec with a message naming the step or parameter', ({ spec, message }) => {
    // Prepare
    const parse = () => parsePipelineSpec(spec);

    // Act & Assess
    expect(parse).toThrow(PipelineSpecError);
    expect(parse).toThrow(message);
  });

  it('raises spec errors as usage errors', () => {
    // Prepare
    let caught: unknown;

    // Act
    try {
      parsePipelineSpec('validate:enabled=maybe');
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(UsageError);
    expect(caught).toMatchObject({ name: 'PipelineSpecError', retryable: false });
  });
});

describe('toStepSpec', () => {
  it('accepts typed reserved values, as a config file gives them', () => {
    // Prepare
    const params = { algorithm: 'gzip', timeout: 500, enabled: false };

    // Act
    const spec = toStepSpec('compress', params);

    // Assess
    expect(spec).toEqual({ name: 'compress', params: { algorithm: 'gzip' }, enabled: false, timeoutMs: 500 });
  });

  it('defaults to enabled with the default timeout', () => {
    // Prepare
    const params = { op: 'uppercase' };

    // Act
    const spec = toStepSpec('transform', params);

    // Assess
    expect(spec).toEqual({
      name: 'transform',
      params: { op: 'uppercase' },
      enabled: true,
      timeoutMs: DEFAULT_STEP_TIMEOUT_MS,
    });
  });

  it.each([
    { params: { timeout: -5 }, message: /step compress: timeout .*got -5/ },
    { params: { timeout: '' }, message: /step compress: timeout .*got $/ },
    { params: { enabled: 1 }, message: /step compress: enabled must be true or false, got 1/ },
    { params: { timeout: 900_001 }, message: /step compress: timeout .* from 1 to 900000, got 900001/ },
    { params: JSON.parse('{"__proto__": "x"}'), message: /"__proto__" is not a parameter name/ },
  ])('rejects $params', ({ params, message }) => {
    // Prepare
    const build = () => toStepSpec('compress', params);

    // Act & Assess
    expect(build).toThrow(PipelineSpecError);
    expect(build).toThrow(message);
  });
});
