import { UsageError } from '../errors.ts';
import { isPlainObject } from './json-type.ts';

/** The segments of a dotted path to a field of a record: `order.total` is `['order', 'total']`. */
export type FieldPath = readonly string[];

/** The path a dotted text names; a UsageError when the text or one of its segments is empty. */
export const parseFieldPath = (text: string): FieldPath => {
  const segments = text.split('.');
  if (segments.some((segment) => segment === '')) {
    throw new UsageError(
      `field path "${text}" has an empty segment: write names joined by dots, as order.total`,
    );
  }
  return segments;
};

/**
 * The value at `path` in `record`, or undefined when a step is missing or is not a plain object. Only own
 * properties count, so `__proto__` or `constructor` never reach a prototype, and arrays are not indexed.
 */
export const getField = (record: unknown, path: FieldPath): unknown => {
  let value = record;
  for (const segment of path) {
    if (!isPlainObject(value) || !Object.hasOwn(value, segment)) return undefined;
    value = value[segment];
  }
  return value;
};

/**
 * Sets the value of the field at `path`, in place, when it is an own property of a plain object; true when
 * it was set, false when nothing changed (no such field, or one that cannot be written).
 */
export const setField = (record: unknown, path: FieldPath, value: unknown): boolean => {
  const parent = getField(record, path.slice(0, -1));
  const name = path.at(-1);
  if (name === undefined || !isPlainObject(parent) || !Object.hasOwn(parent, name)) return false;
  // Reflect.set on an own data property writes that property, even one named __proto__, and answers false
  // instead of throwing for a frozen object.
  return Reflect.set(parent, name, value);
};
