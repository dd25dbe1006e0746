import { jsonType } from './json-type.ts';

/** The largest magnitude a calculation reads: every integer up to 2^53 is a double of its own. */
export const MAX_EXACT = 2 ** 53;

/** A value read as a number, or the reason it is not one, in words. */
export type NumberReading = { ok: true; value: number } | { ok: false; reason: string };

/** The reason for a magnitude beyond {@link MAX_EXACT}. */
export const BEYOND_EXACT = 'beyond 2^53: it cannot be read exactly';

/**
 * A JSON number that is finite and at most 2^53 in magnitude. Strings are not numbers here: `"12"` is
 * `not a number (string)`. An undefined value is `missing`.
 */
export const readNumber = (value: unknown): NumberReading => {
  if (typeof value !== 'number') {
    return { ok: false, reason: value === undefined ? 'missing' : `not a number (${jsonType(value)})` };
  }
  if (!Number.isFinite(value)) return { ok: false, reason: 'not finite' };
  if (Math.abs(value) > MAX_EXACT) return { ok: false, reason: BEYOND_EXACT };
  return { ok: true, value };
};
