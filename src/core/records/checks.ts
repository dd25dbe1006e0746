import { RE2JS } from 're2js';
import { UsageError } from '../errors.ts';
import { NUMBER_TEXT, NUMBER_TEXT_RULE } from '../pipeline/number-text.ts';
import { jsonType } from './json-type.ts';
import { BEYOND_EXACT, type NumberReading, readNumber } from './numbers.ts';

/** The rules of `check:RULE`. */
export const CHECK_RULES = ['email', 'phone', 'numeric', 'required', 'range', 'length', 'regex'] as const;
export type CheckRule = (typeof CHECK_RULES)[number];

/** A rule and its parameters. `range` and `length` bounds are inclusive. */
export type CheckSpec =
  | { rule: 'email' | 'phone' | 'numeric' | 'required' }
  | { rule: 'range'; min?: number; max?: number }
  | { rule: 'length'; min?: number; max?: number }
  | { rule: 'regex'; pattern: string };

/** A compiled check: undefined for a valid value, else the reason it is not, in words. */
export type Check = (value: unknown) => string | undefined;

/** The longest email address accepted, in characters (the 254 of RFC 5321's path, less its brackets). */
export const MAX_EMAIL_LENGTH = 254;

const E164 = /^\+[1-9]\d{1,14}$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const WHITESPACE = /\s/u;
/** 2^53 in decimal digits: a number text is compared with it digit by digit, never through a double. */
const MAX_EXACT_DIGITS = '9007199254740992';

const NOT_EMAIL = 'not an email address';
const NOT_PHONE = 'not an E.164 phone number (+ and 2 to 15 digits, no leading 0)';

const notString = (value: unknown): string => `not a string (${jsonType(value)})`;

/** A string's length in Unicode code points: an emoji is one character, not two UTF-16 units. */
const codePointLength = (text: string): number => {
  let length = 0;
  for (const _ of text) length++;
  return length;
};

/**
 * A pragmatic address, not RFC 5322's full grammar (no quoted local parts, comments or IP literals): one
 * `@`, a non-empty local part without whitespace, a domain of at least two dot-separated labels of ASCII
 * letters, digits and inner hyphens (1 to 63 each; an internationalized domain in its xn-- form), and at
 * most {@link MAX_EMAIL_LENGTH} characters in all.
 */
const isEmail = (text: string): boolean => {
  const at = text.indexOf('@');
  if (at <= 0 || text.lastIndexOf('@') !== at || codePointLength(text) > MAX_EMAIL_LENGTH) return false;
  const labels = text.slice(at + 1).split('.');
  return (
    !WHITESPACE.test(text.slice(0, at)) && labels.length >= 2 && labels.every((l) => DOMAIN_LABEL.test(l))
  );
};

/** Whether a text of the number grammar is 2^53 or beyond in magnitude, decided on its digits. */
const beyondExact = (text: string): boolean => {
  const [whole = ''] = text.replace(/^-/, '').split('.');
  const digits = whole.replace(/^0+/, '');
  if (digits.length !== MAX_EXACT_DIGITS.length) return digits.length > MAX_EXACT_DIGITS.length;
  // 2^53 itself too, as readNumber: the same value is numeric as a number and as a text.
  return digits >= MAX_EXACT_DIGITS;
};

/**
 * A value read as `numeric` reads it: a JSON number readNumber accepts, or a string in the number-text
 * grammar (src/core/pipeline/number-text.ts) whose value is below 2^53. The text is compared with 2^53
 * before it is parsed, so "9007199254740993", which would round to 2^53, is beyond.
 */
export const readNumeric = (value: unknown): NumberReading => {
  if (typeof value !== 'string') return readNumber(value);
  if (!NUMBER_TEXT.test(value)) return { ok: false, reason: `not numeric text (${NUMBER_TEXT_RULE})` };
  if (beyondExact(value)) return { ok: false, reason: BEYOND_EXACT };
  return { ok: true, value: Number(value) };
};

const checkRequired: Check = (value) => {
  if (value === null) return 'null';
  if (typeof value === 'string' && value.trim() === '')
    return value === '' ? 'an empty string' : 'only whitespace';
  if (Array.isArray(value) && value.length === 0) return 'an empty array';
  return undefined;
};

const checkRange =
  (min: number | undefined, max: number | undefined): Check =>
  (value) => {
    const reading = readNumeric(value);
    if (!reading.ok) return reading.reason;
    if (min !== undefined && reading.value < min) return `below the minimum ${min}`;
    if (max !== undefined && reading.value > max) return `above the maximum ${max}`;
    return undefined;
  };

const checkLength =
  (min: number | undefined, max: number | undefined): Check =>
  (value) => {
    if (typeof value !== 'string') return notString(value);
    const length = codePointLength(value);
    if (min !== undefined && length < min) return `shorter than ${min} characters`;
    if (max !== undefined && length > max) return `longer than ${max} characters`;
    return undefined;
  };

/** A user's pattern runs on RE2, in time linear in the value's length, as transform:filter's does. */
const checkRegex = (pattern: string): Check => {
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(pattern);
  } catch (error) {
    // RE2JS throws its RE2JSSyntaxException, an Error, for a pattern it cannot compile.
    const reason = (error as Error).message;
    throw new UsageError(`check pattern ${pattern} is not an RE2 regular expression (${reason})`, {
      cause: error,
    });
  }
  return (value) => {
    if (typeof value !== 'string') return notString(value);
    return regex.test(value) ? undefined : `does not match ${pattern}`;
  };
};

const ruleCheck = (spec: CheckSpec): Check => {
  switch (spec.rule) {
    case 'required':
      return checkRequired;
    case 'email':
      return (value) =>
        typeof value !== 'string' ? notString(value) : isEmail(value) ? undefined : NOT_EMAIL;
    case 'phone':
      return (value) =>
        typeof value !== 'string' ? notString(value) : E164.test(value) ? undefined : NOT_PHONE;
    case 'numeric':
      return (value) => {
        const reading = readNumeric(value);
        return reading.ok ? undefined : reading.reason;
      };
    case 'range':
      return checkRange(spec.min, spec.max);
    case 'length':
      return checkLength(spec.min, spec.max);
    case 'regex':
      return checkRegex(spec.pattern);
  }
};

/**
 * The check of one field's value by `spec`. A missing value (undefined) fails every rule as `missing`.
 * `regex` finds a match anywhere (anchor with ^ and $); `range` reads values as `numeric` does; `length`
 * counts code points; a pattern that is not RE2 is a UsageError.
 */
export const compileCheck = (spec: CheckSpec): Check => {
  const check = ruleCheck(spec);
  return (value) => (value === undefined ? 'missing' : check(value));
};
