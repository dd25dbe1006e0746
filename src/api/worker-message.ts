import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { IDEMPOTENCY } from '../core/idempotency.ts';
import { NUMBER_TEXT } from '../core/pipeline/number-text.ts';
import { CALCULATE_OPS } from '../core/records/calculation.ts';
import { CHECK_RULES } from '../core/records/checks.ts';

/**
 * A job message of the RabbitMQ worker Fanout replaces: `{"id", "type", "payload"}`, where `type` is a
 * family (`calculate`, `validate`, `transform`) or one of its operations by name (`sum`, `email`,
 * `uppercase`, ...).
 */
export const WorkerMessage = z.strictObject({
  /** What the job is known by: its idempotency key, so the same message sent again is the same job. */
  id: z.string().min(1).max(IDEMPOTENCY.maxKeyLength).optional(),
  type: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});
export type WorkerMessage = z.infer<typeof WorkerMessage>;

/** The one-record job a worker message runs as: its pipeline, and its record. */
export interface WorkerJob {
  pipeline: string;
  record: Record<string, unknown>;
}

/** The worker's `aggregate` over numbers is the whole set of statistics. */
const CALCULATIONS: Record<string, string> = {
  ...Object.fromEntries(CALCULATE_OPS.map((op) => [op, op])),
  aggregate: 'statistics',
};
const TRANSFORMS = ['uppercase', 'lowercase', 'reverse', 'normalize', 'filter'] as const;

const Numbers = z.array(z.number());
const Bound = z.number().optional();

/** A value of a spec, percent-encoded where the spec grammar would read it as a separator. */
const specValue = (value: string): string =>
  value.replace(/%/g, '%25').replace(/,/g, '%2C').replace(/:/g, '%3A');

/** A number's decimal digits without an exponent: `1e-7` is `0.0000001`, the spec grammar's way. */
const plainDecimal = (value: number): string | undefined => {
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(String(value));
  if (match === null) return String(value);
  const [, sign, lead, rest = '', power] = match as unknown as [
    string,
    string,
    string,
    string | undefined,
    string,
  ];
  const digits = lead + rest;
  const point = 1 + Number(power);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  // Beyond 1e21 a bound is far outside any number a calculation reads (2^53).
  return point <= 21 ? `${sign}${digits.padEnd(point, '0')}` : undefined;
};

const boundParam = (name: 'min' | 'max', value: number | undefined): string => {
  if (value === undefined) return '';
  const text = plainDecimal(value);
  if (text === undefined || !NUMBER_TEXT.test(text))
    throw new UsageError(`payload.${name}: ${value} is too large to be a bound`);
  return `:${name}=${text}`;
};

const parsed = <T>(schema: z.ZodType<T>, value: unknown, where: string): T => {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`${where}: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
};

const calculation = (operation: string, payload: Record<string, unknown>): WorkerJob => {
  const op = CALCULATIONS[operation];
  if (op === undefined)
    throw new UsageError(
      `payload.operation: unknown calculation "${operation}"; one of ${Object.keys(CALCULATIONS).join(', ')} (sort works on records: send NDJSON with calculate:op=sort)`,
    );
  const numbers = parsed(Numbers, payload.numbers, 'payload.numbers (an array of numbers)');
  return { pipeline: `calculate:op=${op}:field=numbers`, record: { numbers } };
};

const validation = (rule: string, payload: Record<string, unknown>): WorkerJob => {
  if (!(CHECK_RULES as readonly string[]).includes(rule))
    throw new UsageError(`payload.rule: unknown validation "${rule}"; one of ${CHECK_RULES.join(', ')}`);
  const min = parsed(Bound, payload.min, 'payload.min');
  const max = parsed(Bound, payload.max, 'payload.max');
  const pattern = parsed(z.string().optional(), payload.pattern, 'payload.pattern');
  if ((rule === 'range' || rule === 'length') && min === undefined && max === undefined)
    throw new UsageError(`payload.min, payload.max: ${rule} needs one of them or both`);
  const params = `${boundParam('min', min)}${boundParam('max', max)}${pattern === undefined ? '' : `:pattern=${specValue(pattern)}`}`;
  // A value left out stays out: the check says "missing", as it would of a record without the field.
  const record = payload.value === undefined ? {} : { value: payload.value };
  return { pipeline: `check:${rule}:field=value${params}`, record };
};

const transformation = (operation: string, payload: Record<string, unknown>): WorkerJob => {
  if (!(TRANSFORMS as readonly string[]).includes(operation))
    throw new UsageError(
      `payload.operation: unknown transformation "${operation}"; one of ${TRANSFORMS.join(', ')}`,
    );
  const data = parsed(z.string(), payload.data, 'payload.data (a string)');
  const pattern = parsed(z.string().optional(), payload.pattern, 'payload.pattern');
  const params = pattern === undefined ? '' : `:pattern=${specValue(pattern)}`;
  return { pipeline: `transform:${operation}:field=data${params}`, record: { data } };
};

const nameIn = (payload: Record<string, unknown>, key: string): string =>
  parsed(z.string().min(1), payload[key], `payload.${key}`);

/**
 * The job a worker message runs as: `calculate` sums (and so on) `payload.numbers`, a validation checks
 * `payload.value`, a transformation changes `payload.data`. A UsageError names what is wrong.
 */
export const workerJob = ({ type, payload }: WorkerMessage): WorkerJob => {
  if (type === 'calculate') return calculation(nameIn(payload, 'operation'), payload);
  if (type === 'validate') return validation(nameIn(payload, 'rule'), payload);
  if (type === 'transform') return transformation(nameIn(payload, 'operation'), payload);
  if (Object.hasOwn(CALCULATIONS, type)) return calculation(type, payload);
  if ((CHECK_RULES as readonly string[]).includes(type)) return validation(type, payload);
  if ((TRANSFORMS as readonly string[]).includes(type)) return transformation(type, payload);
  throw new UsageError(
    `type: unknown message type "${type}"; calculate, validate, transform, or one of their operations by name`,
  );
};
