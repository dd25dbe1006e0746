import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import { getField, parseFieldPath, setField } from '../../src/core/records/field-path.ts';
import { isPlainObject, jsonType } from '../../src/core/records/json-type.ts';

describe('parseFieldPath', () => {
  it('splits a dotted path into its segments', () => {
    // Prepare
    const texts = ['total', 'order.total', 'a.b.c'];

    // Act
    const paths = texts.map(parseFieldPath);

    // Assess
    expect(paths).toEqual([['total'], ['order', 'total'], ['a', 'b', 'c']]);
  });

  it.each(['', '.', 'order.', '.total', 'a..b'])('rejects %j, naming it', (text) => {
    // Prepare
    const parse = () => parseFieldPath(text);

    // Act & Assess
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(`field path "${text}" has an empty segment`);
  });
});

describe('getField', () => {
  it('reads a nested field, whatever its value', () => {
    // Prepare
    const record = { order: { total: 12.5, tags: ['a'], note: null } };

    // Act
    const values = [['order', 'total'], ['order', 'tags'], ['order', 'note'], ['order'], []].map((path) =>
      getField(record, path),
    );

    // Assess
    expect(values).toEqual([12.5, ['a'], null, record.order, record]);
  });

  it('gives undefined for a missing step or one that is not a plain object', () => {
    // Prepare
    const record = { a: { b: 1 }, n: null, s: 'text', list: [{ x: 1 }], date: new Date(0) };

    // Act
    const values = [
      ['a', 'c'],
      ['a', 'b', 'c'],
      ['n', 'x'],
      ['s', 'length'],
      ['list', '0'],
      ['list', 'length'],
      ['date', 'getTime'],
      ['missing', 'x'],
    ].map((path) => getField(record, path));

    // Assess
    expect(values).toEqual(Array(8).fill(undefined));
    expect(getField(null, ['a'])).toBeUndefined();
    expect(getField(7, ['a'])).toBeUndefined();
  });

  it('reads own properties only, so the prototype is never reached', () => {
    // Prepare
    const record = JSON.parse('{"__proto__": {"polluted": 1}, "plain": {}}') as unknown;

    // Act
    const values = [
      getField(record, ['__proto__', 'polluted']),
      getField(record, ['plain', 'constructor']),
      getField(record, ['plain', '__proto__']),
      getField(record, ['toString']),
    ];

    // Assess
    expect(values).toEqual([1, undefined, undefined, undefined]);
  });

  it('reads an object without a prototype', () => {
    // Prepare
    const record = Object.assign(Object.create(null) as object, { a: 1 });

    // Act
    const value = getField(record, ['a']);

    // Assess
    expect(value).toBe(1);
  });
});

describe('setField', () => {
  it('sets an existing field in place', () => {
    // Prepare
    const record = { order: { total: '12', other: 1 } };

    // Act
    const set = setField(record, ['order', 'total'], 12);

    // Assess
    expect(set).toBe(true);
    expect(record).toEqual({ order: { total: 12, other: 1 } });
  });

  it('sets an own __proto__ field without touching the prototype', () => {
    // Prepare
    const record = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;

    // Act
    const set = setField(record, ['__proto__'], { polluted: true });

    // Assess
    expect(set).toBe(true);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(JSON.stringify(record)).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('changes nothing when the path leads to no own field of a plain object', () => {
    // Prepare
    const record = { a: { b: 1 }, list: [1, 2], s: 'x' };
    const before = structuredClone(record);

    // Act
    const results = [
      setField(record, ['a', 'c'], 2),
      setField(record, ['x', 'b'], 2),
      setField(record, ['list', '0'], 2),
      setField(record, ['s', 'length'], 2),
      setField(record, ['a', 'toString'], 2),
      setField(record, [], 2),
      setField(null, ['a'], 2),
    ];

    // Assess
    expect(results).toEqual(Array(7).fill(false));
    expect(record).toEqual(before);
  });

  it('answers false for a field that cannot be written', () => {
    // Prepare
    const record = Object.freeze({ a: 1 });

    // Act
    const set = setField(record, ['a'], 2);

    // Assess
    expect(set).toBe(false);
    expect(record.a).toBe(1);
  });
});

describe('jsonType and isPlainObject', () => {
  it('name the JSON type of a value, and tell plain objects apart', () => {
    // Prepare
    const values = [null, [], {}, 'a', 1, true, undefined, new Date(0)];

    // Act
    const types = values.map(jsonType);
    const plain = values.map(isPlainObject);

    // Assess
    expect(types).toEqual(['null', 'array', 'object', 'string', 'number', 'boolean', 'undefined', 'object']);
    expect(plain).toEqual([false, false, true, false, false, false, false, false]);
  });
});
