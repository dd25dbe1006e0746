import { z } from 'zod';
import type { CalculateOp, Calculation } from './calculation.ts';
import { PartialMismatchError } from './errors.ts';
import { isPlainObject } from './json-type.ts';
import type { Moments } from './moments.ts';
import { MAX_EXACT } from './numbers.ts';
import { type ValueSketchData, valueSketchDataSchema } from './value-sketch.ts';

/**
 * What one chunk's values (of the whole calculation, or of one group) add up to. `count` and `skipped` are
 * always there; the other fields only for the ops that read them (see {@link PARTIAL_FIELDS}).
 */
export interface CalculationPartial {
  /** Values counted: numbers readNumber accepts. */
  count: number;
  /** Values skipped: missing, not a number, beyond 2^53. */
  skipped: number;
  /** ExactSum partials of the values (sum, average, statistics). */
  sum?: number[];
  /** Welford moments of the values, for the standard deviation (statistics). */
  moments?: Moments;
  /** The least value, null when count is 0 (min, statistics). */
  min?: number | null;
  /** The greatest value, null when count is 0 (max, statistics). */
  max?: number | null;
  /** The values' sketch, for the quantiles (statistics). */
  sketch?: ValueSketchData;
}

/**
 * The partial of one chunk, or of several merged: plain JSON. Without `by` it has `all`; with `by` it has
 * `by`, `skipped` (records whose by value gives no group key) and `groups` (group key to its partial),
 * and no `all`. `field` and `by` are the paths as written.
 */
export interface ChunkPartial {
  v: 1;
  op: CalculateOp;
  field: string;
  by?: string;
  skipped?: number;
  all?: CalculationPartial;
  groups?: Record<string, CalculationPartial>;
}

/** The optional fields of a CalculationPartial each op keeps, in this order. */
export const PARTIAL_FIELDS = {
  sum: ['sum'],
  average: ['sum'],
  min: ['min'],
  max: ['max'],
  count: [],
  statistics: ['sum', 'moments', 'min', 'max', 'sketch'],
} as const satisfies Record<CalculateOp, readonly (keyof CalculationPartial)[]>;

const count = z.int().nonnegative();
const extreme = z.number().min(-MAX_EXACT).max(MAX_EXACT).nullable();
const fieldSchemas = {
  sum: z.array(z.number()),
  moments: z.strictObject({ count, mean: z.number(), m2: z.number().nonnegative() }),
  min: extreme,
  max: extreme,
  sketch: valueSketchDataSchema,
} as const;

const partialSchema = (op: CalculateOp) =>
  z
    .strictObject({
      count,
      skipped: count,
      ...Object.fromEntries(PARTIAL_FIELDS[op].map((name) => [name, fieldSchemas[name]])),
    })
    .refine(
      (p: CalculationPartial) =>
        (p.min === undefined || (p.min === null) === (p.count === 0)) &&
        (p.max === undefined || (p.max === null) === (p.count === 0)) &&
        (p.moments === undefined || p.moments.count === p.count) &&
        (p.sketch === undefined || p.sketch.count === p.count),
      { message: 'min, max, moments and sketch do not fit count' },
    )
    // So that merging cannot overflow: partials of count values within 2^53 are within count * 2^53 (and a
    // rounding) each.
    .refine((p: CalculationPartial) => (p.sum ?? []).every((x) => Math.abs(x) <= 2 * p.count * MAX_EXACT), {
      message: 'sum is beyond what count values within 2^53 add up to',
    });

const partialSchemas = new Map<CalculateOp, ReturnType<typeof partialSchema>>();

/** The by path as written, when there is one: `byText`, or the path joined when a caller left it out. */
export const byTextOf = (calc: Calculation): string | undefined =>
  calc.by === undefined ? undefined : (calc.byText ?? calc.by.join('.'));

/** The calculation a partial says it belongs to, as its step would be written. */
const stepText = (op: unknown, field: unknown, by: unknown): string =>
  `calculate:op=${String(op)}:field=${String(field)}${by === undefined ? '' : `:by=${String(by)}`}`;

const checkCalculationPartial = (op: CalculateOp, value: unknown, fail: (why: string) => never): void => {
  let schema = partialSchemas.get(op);
  if (schema === undefined) {
    schema = partialSchema(op);
    partialSchemas.set(op, schema);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    fail(result.error.issues.map((issue) => [...issue.path, issue.message].join(': ')).join('; '));
  }
};

/**
 * `value` as a partial of `calc`, checked all through: a PartialMismatchError, naming the partial by
 * `label`, when it is of another op, field or by, or not of the shape {@link ChunkPartial} describes.
 */
export const checkPartial = (calc: Calculation, value: unknown, label: string): ChunkPartial => {
  const byText = byTextOf(calc);
  const expected = stepText(calc.op, calc.fieldText, byText);
  const fail = (why: string): never => {
    throw new PartialMismatchError(`${label} is not a partial of ${expected}: ${why}`);
  };
  if (!isPlainObject(value)) return fail('not an object');
  if (value.v !== 1) fail(`version ${String(value.v)}, not 1`);
  if (value.op !== calc.op || value.field !== calc.fieldText || value.by !== byText) {
    fail(`it is one of ${stepText(value.op, value.field, value.by)}`);
  }
  const keys =
    calc.by === undefined ? ['v', 'op', 'field', 'all'] : ['v', 'op', 'field', 'by', 'skipped', 'groups'];
  const extra = Object.keys(value).find((key) => !keys.includes(key));
  if (extra !== undefined) fail(`unexpected key ${extra}`);
  if (calc.by === undefined) {
    checkCalculationPartial(calc.op, value.all, (why) => fail(`all: ${why}`));
  } else {
    if (!count.safeParse(value.skipped).success) fail('skipped: not a count');
    const groups = value.groups;
    if (!isPlainObject(groups)) return fail('groups: not an object');
    for (const [key, group] of Object.entries(groups)) {
      checkCalculationPartial(calc.op, group, (why) => fail(`groups[${JSON.stringify(key)}]: ${why}`));
    }
  }
  return value as unknown as ChunkPartial;
};
