import { UsageError } from '../errors.ts';
import { Accumulator } from './accumulator.ts';
import { TooManyGroupsError } from './errors.ts';
import { type FieldPath, getField, parseFieldPath } from './field-path.ts';
import { byTextOf, type ChunkPartial, checkPartial } from './partial.ts';

export type { CalculationPartial, ChunkPartial } from './partial.ts';
export { formatResult } from './result.ts';

/** The ops of `calculate:op=OP:field=PATH[:by=PATH]`. */
export const CALCULATE_OPS = ['sum', 'average', 'min', 'max', 'count', 'statistics'] as const;
export type CalculateOp = (typeof CALCULATE_OPS)[number];

/** One calculate step: its op, the field it reads and the field it groups by, as paths and as written. */
export interface Calculation {
  op: CalculateOp;
  field: FieldPath;
  fieldText: string;
  by?: FieldPath;
  byText?: string;
}

/** The most distinct group keys one calculation keeps, in a chunk's partial and in the merged result. */
export const MAX_GROUPS = 10_000;

/** The calculation a step's parameters name; a UsageError for an unknown op or an empty path segment. */
export const toCalculation = (op: string, fieldText: string, byText?: string): Calculation => {
  if (!(CALCULATE_OPS as readonly string[]).includes(op)) {
    throw new UsageError(`calculate op must be one of ${CALCULATE_OPS.join(', ')}, not "${op}"`);
  }
  const calc: Calculation = { op: op as CalculateOp, field: parseFieldPath(fieldText), fieldText };
  if (byText !== undefined) {
    calc.by = parseFieldPath(byText);
    calc.byText = byText;
  }
  return calc;
};

/**
 * The group a by value puts its record in: a string is its own key, a finite number or a boolean its JSON
 * text (so `7` and `"7"` share a group). Anything else (missing, null, an object, an array) has none.
 */
export const groupKey = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
    return JSON.stringify(value);
  }
  return undefined;
};

/** The totals of a calculation: of all values, or per group with the records that have no group. */
class Totals {
  readonly all: Accumulator;
  readonly #calc: Calculation;
  readonly #byText: string | undefined;
  readonly #groups = new Map<string, Accumulator>();
  skipped = 0;

  constructor(calc: Calculation) {
    this.#calc = calc;
    this.#byText = byTextOf(calc);
    this.all = new Accumulator(calc.op);
  }

  group(key: string): Accumulator {
    let group = this.#groups.get(key);
    if (group === undefined) {
      if (this.#groups.size === MAX_GROUPS) throw new TooManyGroupsError(MAX_GROUPS, String(this.#byText));
      group = new Accumulator(this.#calc.op);
      this.#groups.set(key, group);
    }
    return group;
  }

  toPartial(): ChunkPartial {
    const { op, fieldText: field } = this.#calc;
    const by = this.#byText;
    if (by === undefined) return { v: 1, op, field, all: this.all.toPartial() };
    // fromEntries defines own properties, so a key named __proto__ is a group like any other.
    const groups = Object.fromEntries([...this.#groups].map(([key, group]) => [key, group.toPartial()]));
    return { v: 1, op, field, by, skipped: this.skipped, groups };
  }
}

/**
 * Builds the partial of one chunk, record by record. A field holding a number (as readNumber reads it)
 * counts it; an array counts each of its elements that is one and skips the others; anything else is one
 * value skipped. With `by`, a record whose by value has no {@link groupKey} is skipped as a whole; more
 * than MAX_GROUPS keys is a TooManyGroupsError.
 */
export class PartialBuilder {
  readonly #calc: Calculation;
  readonly #totals: Totals;

  constructor(calc: Calculation) {
    this.#calc = calc;
    this.#totals = new Totals(calc);
  }

  addRecord(record: unknown): void {
    const { by, field } = this.#calc;
    let accumulator = this.#totals.all;
    if (by !== undefined) {
      const key = groupKey(getField(record, by));
      if (key === undefined) {
        this.#totals.skipped++;
        return;
      }
      accumulator = this.#totals.group(key);
    }
    const value = getField(record, field);
    if (Array.isArray(value)) for (const element of value) accumulator.addValue(element);
    else accumulator.addValue(value);
  }

  toPartial(): ChunkPartial {
    return this.#totals.toPartial();
  }
}

/**
 * The partial of all the given partials, merged in the order given (the caller's is chunk index order).
 * Each is checked first: a PartialMismatchError for one of another calculation or shape. More than
 * MAX_GROUPS keys in all is a TooManyGroupsError. No partials give the partial of no records.
 */
export const mergePartials = (calc: Calculation, partials: Iterable<unknown>): ChunkPartial => {
  const merger = new PartialMerger(calc);
  for (const value of partials) merger.add(value);
  return merger.toPartial();
};

/**
 * Merges partials one at a time, as they are read, so that a job's thousands of partials are never held
 * together; the same checks and order as {@link mergePartials}.
 */
export class PartialMerger {
  readonly #calc: Calculation;
  readonly #totals: Totals;
  #index = 0;

  constructor(calc: Calculation) {
    this.#calc = calc;
    this.#totals = new Totals(calc);
  }

  add(value: unknown): void {
    const partial = checkPartial(this.#calc, value, `partial ${this.#index++}`);
    const totals = this.#totals;
    if (partial.all !== undefined) totals.all.merge(partial.all);
    totals.skipped += partial.skipped ?? 0;
    for (const [key, group] of Object.entries(partial.groups ?? {})) totals.group(key).merge(group);
  }

  toPartial(): ChunkPartial {
    return this.#totals.toPartial();
  }
}
