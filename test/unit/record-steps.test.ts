import { describe, expect, it } from 'vitest';
import { ChunkValidationError } from '../../src/core/errors.ts';
import { PipelineSpecError } from '../../src/core/pipeline/errors.ts';
import { type FanIn, fanInOf } from '../../src/core/pipeline/fan-in.ts';
import { Pipeline } from '../../src/core/pipeline/pipeline.ts';
import { StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';
import { taskContext } from '../support/task-context.ts';

const registry = StepRegistry.builtIn();
const build = (spec: string): Pipeline => new Pipeline(registry.resolve(parsePipelineSpec(spec)));
const ndjson = (...records: unknown[]): Uint8Array =>
  new TextEncoder().encode(
    `${records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`,
  );
const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const lines = (data: Uint8Array | undefined): unknown[] =>
  data === undefined
    ? []
    : text(data)
        .trimEnd()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));

/** Runs `spec` on `data` as the chunk starting at line `firstLine` of its job's input. */
const run = (spec: string, data: Uint8Array, firstLine = 1) =>
  build(spec).run(data, taskContext(data, { firstLine }));

describe('check', () => {
  it('passes valid records on as they were and rejects the others with their line in the input', async () => {
    // Prepare
    const data = ndjson({ email: 'a@b.co', n: 1 }, { email: 'nope' }, '{not json', { n: 2 });

    // Act
    const { output, rejects } = await run('check:email:field=email', data, 101);

    // Assess
    expect(text(output)).toBe('{"email":"a@b.co","n":1}\n');
    expect(rejects?.count).toBe(3);
    expect(lines(rejects?.data)).toEqual([
      { line: 102, field: 'email', rule: 'email', value: 'nope', reason: expect.any(String) },
      { line: 103, field: null, rule: 'json', value: '{not json', reason: 'not valid JSON' },
      { line: 104, field: 'email', rule: 'email', value: null, reason: 'missing' },
    ]);
  });

  it('numbers lines as the input has them, blank lines included, across several checks', async () => {
    // Prepare
    const data = new TextEncoder().encode('{"a":1,"b":"x"}\n\n{"a":"no","b":"x"}\n{"a":2}\n');

    // Act
    const { output, rejects } = await run('check:numeric:field=a,check:required:field=b', data, 10);

    // Assess
    expect(text(output)).toBe('{"a":1,"b":"x"}\n');
    expect(
      lines(rejects?.data).map((r) => [(r as { line: number }).line, (r as { rule: string }).rule]),
    ).toEqual([
      [12, 'numeric'],
      [13, 'required'],
    ]);
  });

  it("gives a chunk's rejects in the input's order, whichever check took each out", async () => {
    // Prepare
    const data = ndjson({ a: 1 }, { a: 'no', b: 'x' });

    // Act
    const { rejects } = await run('check:numeric:field=a,check:required:field=b', data, 10);

    // Assess
    expect(lines(rejects?.data).map((r) => (r as { line: number }).line)).toEqual([10, 11]);
  });

  it('fails the chunk for good at the first invalid record with on_invalid=fail', async () => {
    // Prepare
    const data = ndjson({ age: 30 }, { age: 300 });

    // Act
    const result = run('check:range:field=age:min=0:max=150:on_invalid=fail', data, 5);

    // Assess
    await expect(result).rejects.toBeInstanceOf(ChunkValidationError);
    await expect(result).rejects.toThrow('line 6, field age');
  });

  it('reads CRLF lines and a last line without a line end, numbering from 1 when the chunk has no line', async () => {
    // Prepare
    const data = new TextEncoder().encode('{"n":1}\r\n{"n":"x"}');

    // Act
    const { output, rejects } = await build('check:numeric:field=n').run(data, taskContext(data));

    // Assess
    expect(text(output)).toBe('{"n":1}');
    expect(lines(rejects?.data)).toMatchObject([{ line: 2, value: 'x' }]);
  });

  it('gives an empty output when every record is rejected, and a bound of one side only', async () => {
    // Act
    const { output, rejects } = await run('check:range:field=n:min=10', ndjson({ n: 1 }, { n: 2 }));

    // Assess
    expect(output.byteLength).toBe(0);
    expect(rejects?.count).toBe(2);
  });

  it('names the line of a record that is not JSON when on_invalid=fail', async () => {
    // Act
    const result = run('check:required:field=a:on_invalid=fail', ndjson('{oops'), 7);

    // Assess
    await expect(result).rejects.toThrow('check:required: line 7, field (none): not valid JSON');
  });

  it('has no rejects when every record is valid', async () => {
    // Act
    const done = await run('check:length:field=name:min=1:max=3', ndjson({ name: 'Ann' }));

    // Assess
    expect(done.rejects).toBeUndefined();
  });
});

describe('transform on a field', () => {
  it('changes that string field only, and writes changed records anew', async () => {
    // Prepare
    const data = ndjson({ user: { name: 'ada' }, n: 1 }, { user: { name: 7 } }, { other: true });

    // Act
    const { output } = await run('transform:uppercase:field=user.name', data);

    // Assess
    expect(text(output)).toBe('{"user":{"name":"ADA"},"n":1}\n{"user":{"name":7}}\n{"other":true}\n');
  });

  it('keeps the records whose field matches a filter, and reverses by code points', async () => {
    // Prepare
    const data = ndjson({ s: 'ab😀' }, { s: 'zz' }, { t: 'ab' });

    // Act
    const { output } = await run('transform:filter:field=s:pattern=^a,transform:reverse:field=s', data);

    // Assess
    expect(lines(output)).toEqual([{ s: '😀ba' }]);
  });

  it('fails a chunk with a line that is not JSON, as validate:ndjson would', async () => {
    // Act
    const result = run('transform:lowercase:field=s', ndjson({ s: 'A' }, 'oops'), 3);

    // Assess
    await expect(result).rejects.toThrow('line 4 is not valid JSON');
  });

  it('reverses each line on lines, a CRLF line keeping its line end', async () => {
    // Act
    const { output } = await run('transform:reverse', new TextEncoder().encode('abc\r\nxy\n'));

    // Assess
    expect(text(output)).toBe('cba\r\nyx\n');
  });
});

describe('calculate', () => {
  it("yields the chunk's partial: counted values and skipped ones", async () => {
    // Prepare
    const data = ndjson({ v: 1 }, { v: 2.5 }, { v: 'x' }, {}, { v: [3, 'y'] });

    // Act
    const { output } = await run('calculate:op=sum:field=v', data);

    // Assess
    const partial = JSON.parse(text(output));
    expect(partial).toMatchObject({ v: 1, op: 'sum', field: 'v', all: { count: 3, skipped: 3 } });
  });

  it('rejects a number it cannot read exactly, with the reason, and counts it skipped', async () => {
    // Prepare
    const data = new TextEncoder().encode('{"v":9007199254740993}\n{"v":[1,1e999]}\n{"v":2}\n');

    // Act
    const { output, rejects } = await run('calculate:op=sum:field=v', data, 20);

    // Assess
    expect(JSON.parse(text(output))).toMatchObject({ all: { count: 2, skipped: 2 } });
    expect(lines(rejects?.data)).toEqual([
      {
        line: 20,
        field: 'v',
        rule: 'number',
        value: 2 ** 53,
        reason: '2^53 or beyond: it may have been rounded when read',
      },
      { line: 21, field: 'v', rule: 'number', value: null, reason: 'not finite' },
    ]);
  });

  it('rejects no number of a record that has no group: it is skipped whole', async () => {
    // Prepare
    const data = new TextEncoder().encode('{"v":1e999}\n{"v":1e999,"g":"a"}\n');

    // Act
    const { rejects } = await run('calculate:op=sum:field=v:by=g', data);

    // Assess
    expect(lines(rejects?.data)).toMatchObject([{ line: 2, rule: 'number' }]);
  });

  it('yields its records sorted for op=sort, at most limit of them', async () => {
    // Prepare
    const data = ndjson({ k: 3, i: 0 }, { k: 1, i: 1 }, { k: 3, i: 2 }, { i: 3 });

    // Act
    const { output } = await run('calculate:op=sort:field=k:order=desc:limit=3', data);

    // Assess
    expect(lines(output)).toEqual([
      { k: 3, i: 0 },
      { k: 3, i: 2 },
      { k: 1, i: 1 },
    ]);
  });

  it.each<[string, FanIn['kind'] | undefined]>([
    ['validate,calculate:op=statistics:field=a.b:by=c', 'reduce'],
    ['check:required:field=a,calculate:op=sort:field=a', 'sort'],
    ['transform:uppercase', undefined],
    ['calculate:op=sum:field=a,chaos:enabled=false', 'reduce'],
  ])('makes %s a job with fan-in %s', (spec, kind) => {
    // Act
    const fanIn = fanInOf(parsePipelineSpec(spec));

    // Assess
    expect(fanIn?.kind).toBe(kind);
  });
});

describe('checks of a record pipeline before a job starts', () => {
  it.each([
    ['calculate:op=median:field=a', 'parameter op'],
    ['calculate:op=sum', 'parameter field'],
    ['calculate:op=sum:field=a..b', 'empty segment'],
    ['calculate:op=sort:field=a:by=b', 'sort takes no by'],
    ['calculate:op=sum:field=a:limit=3', 'limit is for op=sort only'],
    ['calculate:op=max:field=a:order=desc', 'order is for op=sort only'],
    ['calculate:op=sum:field=a,transform:uppercase', 'calculate must be the last step'],
    ['check:shiny:field=a', 'parameter rule'],
    ['check:range:field=a:min=5:max=1', 'min 5 is above max 1'],
    ['check:range:field=a', 'range needs min=, max= or both'],
    ['check:length:field=a:min=1.5', "a length's min is a whole number"],
    ['check:email:field=a:min=1', 'min is for the range and length rules only'],
    ['check:regex:field=a:pattern=(a', 'not an RE2 regular expression'],
    ['check:regex:field=a', 'pattern=<regex> is required by regex'],
    ['check:email:field=a:on_invalid=drop', 'parameter on_invalid'],
    ['transform:filter:pattern=x,check:email:field=a', 'check:email must come before transform:filter'],
    ['compress:gzip,calculate:op=sum:field=a', 'calculate:sum must come before compress: record steps'],
    [
      'check:email:field=a,transform:normalize,check:required:field=b',
      'record steps come together: transform:normalize between them would renumber the records of check:required',
    ],
    ['check:email:field=a,validate', 'validate must come before check'],
  ])('refuses %s, naming %s', (spec, named) => {
    // Act
    const act = () => registry.resolve(parsePipelineSpec(spec));

    // Assess
    expect(act).toThrow(PipelineSpecError);
    expect(act).toThrow(named);
  });

  it('needs lines chunking for record steps', () => {
    // Act
    const act = () => registry.resolve(parsePipelineSpec('check:email:field=a'), 'bytes');

    // Assess
    expect(act).toThrow('needs lines chunking');
  });
});
