import { EnvironmentError } from '../config/errors.ts';

/**
 * Typed reads of the variables the stack sets on each function. `FANOUT_*` names are configuration keys
 * (see `src/config`), so the names of deployed resources use plain names like `TABLE_NAME`.
 */
export const requiredEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new EnvironmentError(
      `environment variable ${name} is not set; the stack sets it on every function`,
    );
  }
  return value;
};

export const numberEnv = (name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number => {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new EnvironmentError(`environment variable ${name} must be a non-negative number, got "${text}"`);
  }
  return value;
};

/** A JSON object of strings, such as `QUEUES={"aws":"https://…"}`. */
export const recordEnv = (name: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> => {
  const text = requiredEnv(name, env);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new EnvironmentError(`environment variable ${name} is not JSON: ${text}`, { cause });
  }
  const entries = value !== null && typeof value === 'object' ? Object.entries(value) : [];
  if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string')) {
    throw new EnvironmentError(`environment variable ${name} must be a JSON object of strings, got ${text}`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
};
