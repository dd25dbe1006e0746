import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configTable, DOC_PATH, formatDefault, tableIn } from '../../scripts/config-doc.ts';
import { envName, loadConfig } from '../../src/config/load.ts';
import { ConfigSchema, DEFAULTS } from '../../src/config/schema.ts';

const doc = readFileSync(DOC_PATH, 'utf8');

/** Every key of the schema as a dotted path, read from the zod objects themselves. */
const schemaKeys = (shape: z.ZodRawShape, prefix: string[] = []): string[][] =>
  Object.entries(shape).flatMap(([key, schema]) =>
    schema instanceof z.ZodObject ? schemaKeys(schema.shape, [...prefix, key]) : [[...prefix, key]],
  );

const KEYS = schemaKeys(ConfigSchema.shape);

/** The rows of the doc's table by key: the cells after the key, split on unescaped `|`. */
const rows = new Map(
  tableIn(doc)
    .split('\n')
    .slice(2)
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim());
      return [(cells[0] ?? '').replace(/`/g, ''), cells.slice(1)] as const;
    }),
);

const valueAt = (path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], DEFAULTS);

/** A variable's text that means the key's default, as a user would write it. */
const asText = (value: unknown): string => {
  if (Array.isArray(value)) return value.join(',');
  if (value !== null && typeof value === 'object') {
    const pairs = Object.entries(value).map(([key, item]) => `${key}=${String(item)}`);
    return pairs.length > 0 ? pairs.join(',') : 'aws=1';
  }
  return String(value);
};

const cwd = mkdtempSync(join(tmpdir(), 'fanout-config-doc-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('docs/configuration.md', () => {
  it('holds the table that npm run docs:config generates from the schema', () => {
    expect(tableIn(doc), 'docs/configuration.md is out of date: run npm run docs:config').toBe(configTable());
  });

  it('lists every key of the schema, and no key the schema lacks', () => {
    expect([...rows.keys()].sort()).toEqual(KEYS.map((path) => path.join('.')).sort());
  });

  it.each(KEYS.map((path) => [path.join('.'), path] as const))(
    '%s: its default and its variable, which loading accepts',
    (key, path) => {
      const [, defaultCell, envCell] = rows.get(key) ?? [];
      expect(defaultCell).toBe(formatDefault(valueAt(path)));
      expect(envCell).toBe(`\`${envName(path)}\``);
      expect(() => loadConfig({ env: { [envName(path)]: asText(valueAt(path)) }, cwd })).not.toThrow();
    },
  );
});
