import { LIMITS } from '../constants.ts';
import { PipelineSpecError } from './errors.ts';
import { parseNumberText } from './number-text.ts';
import { DEFAULT_STEP_TIMEOUT_MS, type StepSpec } from './step.ts';

const decode = (value: string, step: string): string => {
  try {
    return decodeURIComponent(value);
  } catch (cause) {
    throw new PipelineSpecError(`step ${step}: ${value} is not valid percent-encoding`, { cause });
  }
};

const parseEnabled = (value: unknown, step: string): boolean => {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new PipelineSpecError(`step ${step}: enabled must be true or false, got ${String(value)}`);
};

const parseTimeout = (value: unknown, step: string): number => {
  const ms = typeof value === 'string' ? parseNumberText(value) : value;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms <= 0 || ms > LIMITS.maxStepTimeoutMs) {
    throw new PipelineSpecError(
      `step ${step}: timeout must be a whole number of milliseconds from 1 to ${LIMITS.maxStepTimeoutMs}, got ${String(value)}`,
    );
  }
  return ms;
};

/** A parameter's name: a letter, then letters, digits, `_` or `-`. So `__proto__` is refused, not lost. */
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

const checkParamName = (key: string, step: string): void => {
  if (!PARAM_NAME.test(key)) {
    throw new PipelineSpecError(
      `step ${step}: "${key}" is not a parameter name; a name is a letter followed by letters, digits, _ or -`,
    );
  }
};

/** The key a bare value is kept under until the registry names it. */
const BARE_KEY = /^\$\d+$/;

/**
 * Splits the reserved `timeout` and `enabled` parameters, which every step accepts, from the step's own.
 */
export const toStepSpec = (name: string, params: Record<string, unknown>): StepSpec => {
  const own: Record<string, unknown> = {};
  let enabled = true;
  let timeoutMs = DEFAULT_STEP_TIMEOUT_MS;
  for (const [key, value] of Object.entries(params)) {
    if (!BARE_KEY.test(key)) checkParamName(key, name);
    if (key === 'enabled') enabled = parseEnabled(value, name);
    else if (key === 'timeout') timeoutMs = parseTimeout(value, name);
    else own[key] = value;
  }
  return { name, params: own, enabled, timeoutMs };
};

/**
 * Parses `name[:param]*[,name[:param]*]*` where a param is a bare value or `key=value`.
 * Bare values are kept under the keys `$0`, `$1`, ... until the registry names them.
 * A `,` or `:` inside a value is written percent-encoded (`%2C`, `%3A`).
 */
export const parsePipelineSpec = (spec: string): StepSpec[] => {
  if (spec.trim() === '') return [];
  return spec.split(',').map((text, position) => {
    const [rawName = '', ...rawParams] = text.trim().split(':');
    const name = rawName.trim();
    if (name === '') throw new PipelineSpecError(`step ${position + 1} of "${spec}" has no name`);
    const params: Record<string, unknown> = Object.create(null);
    let bare = 0;
    for (const raw of rawParams) {
      const eq = raw.indexOf('=');
      if (eq === 0) throw new PipelineSpecError(`step ${name}: parameter "${raw}" has no name`);
      const key = eq > 0 ? raw.slice(0, eq) : `$${bare++}`;
      if (eq > 0) checkParamName(key, name);
      if (Object.hasOwn(params, key))
        throw new PipelineSpecError(`step ${name}: parameter ${key} is given twice`);
      params[key] = decode(eq > 0 ? raw.slice(eq + 1) : raw, name);
    }
    return toStepSpec(name, params);
  });
};
