import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.ts';
import { type Config, ConfigSchema, DEFAULTS, MAP_SETTINGS } from './schema.ts';

export const DEFAULT_CONFIG_FILE = 'fanout.config.yaml';
const ENV_PREFIX = 'FANOUT_';
/** Variables with the prefix that are not settings. */
const ENV_NOT_SETTINGS = new Set(['FANOUT_CONFIG', 'FANOUT_TUNING']);

type Tree = { [key: string]: unknown };
const isTree = (value: unknown): value is Tree =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every settable key path with its default, e.g. `retry.max_attempts` -> 4. Maps count as leaves. */
const leaves = (tree: Tree, prefix: string[] = []): [string[], unknown][] =>
  Object.entries(tree).flatMap(([key, value]) =>
    isTree(value) && Object.keys(value).length > 0 && !MAP_SETTINGS.has([...prefix, key].join('.'))
      ? leaves(value, [...prefix, key])
      : [[[...prefix, key], value]],
  );

const LEAVES = leaves(DEFAULTS);
/** Settings whose variable is shorter than the rule's name: the endpoint every client command uses. */
const SHORT_ENV_NAMES: Record<string, string> = { 'client.endpoint': 'FANOUT_ENDPOINT' };
export const envName = (path: readonly string[]): string =>
  SHORT_ENV_NAMES[path.join('.')] ?? ENV_PREFIX + path.join('_').toUpperCase();

const setPath = (tree: Tree, path: readonly string[], value: unknown): void => {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1] as string] = value;
};

const deepMerge = (base: Tree, over: Tree): Tree => {
  const merged: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    merged[key] = isTree(value) && isTree(base[key]) ? deepMerge(base[key], value) : value;
  }
  return merged;
};

/** Turns a variable's text into the type of the setting's default, so that validation sees real types. */
const fromText = (text: string, example: unknown, name: string): unknown => {
  if (Array.isArray(example))
    return text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  if (typeof example === 'number') return text.trim() === '' ? Number.NaN : Number(text);
  if (typeof example === 'boolean') {
    if (text === 'true' || text === 'false') return text === 'true';
    throw new ConfigError(`${name} must be true or false, got "${text}"`);
  }
  if (isTree(example)) {
    // A map such as weights: "aws=2,gcp=1", or cost.target_clouds: "aws=aws,gcp=gcp".
    const numbers = Object.values(example).every((value) => typeof value === 'number');
    return Object.fromEntries(
      text.split(',').map((pair) => {
        const [key = '', value = ''] = pair.split('=');
        return [key.trim(), numbers ? Number(value) : value.trim()];
      }),
    );
  }
  return text;
};

export interface ConfigSources {
  /** A path given with --config; otherwise FANOUT_CONFIG, otherwise ./fanout.config.yaml when present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Settings from CLI flags, by key path, with the flag that set each one. */
  flags?: { path: readonly string[]; value: unknown; flag: string }[];
  cwd?: string;
}

const readFile = (path: string): Tree => {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`config file ${path} cannot be read: ${(cause as Error).message}`, { cause });
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isTree(parsed)) throw new ConfigError(`config file ${path} must hold a mapping of settings`);
  return parsed;
};

const describe = (issue: z.core.$ZodIssue, origin: (path: string) => string): string => {
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => `unknown setting ${path ? `${path}.` : ''}${key}${origin(path)}`)
      .join('; ');
  }
  return `${path}${origin(path)}: ${issue.message}`;
};

/** Defaults < config file < FANOUT_* variables < CLI flags, validated as a whole. */
export const loadConfig = (sources: ConfigSources = {}): Config => {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const origins = new Map<string, string>();
  let tree: Tree = structuredClone(DEFAULTS) as Tree;

  const explicit = sources.file ?? env.FANOUT_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, DEFAULT_CONFIG_FILE);
  if (explicit && !existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
  if (existsSync(file)) {
    const fromFile = readFile(file);
    for (const [path] of leaves(fromFile)) origins.set(path.join('.'), file);
    tree = deepMerge(tree, fromFile);
  }

  const known = new Map(LEAVES.map(([path, example]) => [envName(path), { path, example }]));
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || ENV_NOT_SETTINGS.has(name) || text === undefined) continue;
    const setting = known.get(name);
    if (setting === undefined) {
      throw new ConfigError(`unknown setting ${name}; known variables: ${[...known.keys()].join(', ')}`);
    }
    setPath(tree, setting.path, fromText(text, setting.example, name));
    origins.set(setting.path.join('.'), name);
  }

  for (const { path, value, flag } of sources.flags ?? []) {
    setPath(tree, path, value);
    origins.set(path.join('.'), flag);
  }

  const parsed = ConfigSchema.safeParse(tree);
  if (!parsed.success) {
    // The source that set the failing key, a key above it (a list or a map set whole), or one below it.
    const origin = (path: string) => {
      const parts = path.split('.');
      const above = parts
        .map((_, n) => origins.get(parts.slice(0, parts.length - n).join('.')))
        .find(Boolean);
      const from = above ?? [...origins].find(([key]) => key.startsWith(`${path}.`))?.[1];
      return from ? ` (from ${from})` : '';
    };
    throw new ConfigError(
      `invalid configuration: ${parsed.error.issues.map((i) => describe(i, origin)).join('; ')}`,
    );
  }
  return parsed.data;
};
