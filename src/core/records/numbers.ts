import { jsonType } from './json-type.ts';

/** The magnitude a calculation reads below: every integer under 2^53 is a double of its own. */
export const MAX_EXACT = 2 ** 53;

/** A value read as a number, or the reason it is not one, in words. */
export type NumberReading = { ok: true; value: number } | { ok: false; reason: string };

/** The reason for a magnitude beyond {@link MAX_EXACT}. */
export const BEYOND_EXACT = '2^53 or beyond: it may have been rounded when read';

/**
 * A JSON number that is finite and below 2^53 in magnitude. Strings are not numbers here: `"12"` is
 * `not a number (string)`. An undefined value is `missing`.
 */
export const readNumber = (value: unknown): NumberReading => {
  if (typeof value !== 'number') {
    return { ok: false, reason: value === undefined ? 'missing' : `not a number (${jsonType(value)})` };
  }
  if (!Number.isFinite(value)) return { ok: false, reason: 'not finite' };
  // JSON.parse has rounded the text already: 2^53 itself may have been 9007199254740993.
  if (Math.abs(value) >= MAX_EXACT) return { ok: false, reason: BEYOND_EXACT };
  return { ok: true, value };
};
