import { type KeyHolder, KeyKind, type SortSpec, sortKey } from './sort.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];
/** The escapes JSON has after a backslash, besides `u`: " \ / b f n r t. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const U = 0x75;

/** Containers nested deeper than this are left to JSON.parse. */
const MAX_DEPTH = 1024;
/** Digits a number may have for its value to be had exactly from them with one division (below 2^53). */
const EXACT_DIGITS = 15;
/** Powers of ten a double holds exactly: 10^0 to 10^22. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, n) => 10 ** n);

const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
const isDigit = (byte: number): boolean => byte >= ZERO && byte <= NINE;
const isHex = (byte: number): boolean =>
  (byte >= ZERO && byte <= NINE) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);

/** What a scan found at the field path: no key there, or the span of a number or a string. */
const Found = { none: 0, number: 1, string: 2 } as const;
type Found = (typeof Found)[keyof typeof Found];
/** A line the scan leaves to JSON.parse: nested too deep. */
const GIVE_UP = -2;
/** A line that is not JSON. */
const INVALID = -1;

/**
 * Reads the key of an NDJSON line from its bytes, exactly as `sortKey` reads it from the decoded line,
 * without building the record: a merge reads the key of every record of the job, and JSON.parse of each
 * built a record only to read one field of it (issue 24).
 *
 * One pass checks that the whole line is JSON, as JSON.parse would (a line that is not has no key), and
 * notes the value at the field path: of an object member whose name is the path's next segment, the
 * last such member (JSON.parse keeps the last of duplicate names), and only through objects (valueAt
 * does not index arrays). A number of up to 15 digits and no exponent is read as `digits / 10^k`, one
 * correctly rounded division of two exact doubles, so the double JSON.parse gives; any other number
 * span is given to JSON.parse alone. A string without escapes is the UTF-8 decoding of its bytes, as
 * decoding the whole line would give it (a malformed sequence cannot take in the ASCII quote that ends
 * it); one with escapes is given to JSON.parse alone. Member names are compared by their bytes when
 * they are plain ASCII, else decoded as the line would be. Lines nested deeper than 1,024 are read by
 * `sortKey` itself.
 */
export class LineKeys {
  readonly #spec: SortSpec;
  readonly #path: readonly Uint8Array[];
  // BOMs stay: a line keyed here must read as the same text the run was sorted by.
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  readonly #latin1 = new TextDecoder('latin1');
  /** Per open container: whether it is an array, and for an object the path segment its names are compared with (-1: none). */
  #isArray = new Uint8Array(16);
  #level = new Int32Array(16);
  // The scan's findings, kept here so that it allocates nothing.
  #found: Found = Found.none;
  #from = 0;
  #to = 0;
  #escaped = false;
  #pos = 0;

  constructor(spec: SortSpec) {
    this.#spec = spec;
    const encoder = new TextEncoder();
    this.#path = spec.field.map((segment) => encoder.encode(segment));
  }

  /** Sets `holder` to the key of the line `bytes[start, end)`, the one `sortKey` gives its decoded text. */
  read(bytes: Uint8Array, start: number, end: number, holder: KeyHolder): void {
    const scanned = this.#path.length === 0 ? GIVE_UP : this.#scan(bytes, start, end);
    if (scanned === GIVE_UP) {
      this.#readSlowly(bytes, start, end, holder);
      return;
    }
    if (scanned === INVALID || this.#found === Found.none) {
      holder.kind = KeyKind.none;
      return;
    }
    if (this.#found === Found.string) {
      holder.kind = KeyKind.string;
      holder.string = this.#escaped
        ? (JSON.parse(this.#decoder.decode(bytes.subarray(this.#from - 1, this.#to + 1))) as string)
        : this.#decoder.decode(bytes.subarray(this.#from, this.#to));
      return;
    }
    const value = this.#number(bytes, this.#from, this.#to);
    if (Number.isFinite(value)) {
      holder.kind = KeyKind.number;
      holder.number = value;
    } else holder.kind = KeyKind.none;
  }

  #readSlowly(bytes: Uint8Array, start: number, end: number, holder: KeyHolder): void {
    const key = sortKey(this.#decoder.decode(bytes.subarray(start, end)), this.#spec);
    if (typeof key === 'number') {
      holder.kind = KeyKind.number;
      holder.number = key;
    } else if (typeof key === 'string') {
      holder.kind = KeyKind.string;
      holder.string = key;
    } else holder.kind = KeyKind.none;
  }

  /** The value of the JSON number `bytes[from, to)`, checked by the scan. */
  #number(bytes: Uint8Array, from: number, to: number): number {
    let at = from;
    const negative = bytes[at] === MINUS;
    if (negative) at++;
    let digits = 0;
    let mantissa = 0;
    let fraction = -1;
    for (; at < to; at++) {
      const byte = bytes[at] as number;
      if (byte === DOT) fraction = 0;
      else if (isDigit(byte)) {
        mantissa = mantissa * 10 + (byte - ZERO);
        digits++;
        if (fraction >= 0) fraction++;
      } else break;
    }
    if (at < to || digits > EXACT_DIGITS) {
      // An exponent, or more digits than a double holds exactly: JSON.parse reads it.
      return JSON.parse(this.#latin1.decode(bytes.subarray(from, to))) as number;
    }
    const value = fraction > 0 ? mantissa / (POWERS_OF_TEN[fraction] as number) : mantissa;
    return negative ? -value : value;
  }

  /**
   * Checks that `bytes[start, end)` is one JSON value and notes the value at the field path in `#found`,
   * `#from`, `#to` and `#escaped`. INVALID for a line that is not JSON; GIVE_UP for one nested too deep.
   */
  #scan(bytes: Uint8Array, start: number, end: number): number {
    const path = this.#path;
    this.#found = Found.none;
    let depth = 0;
    let at = this.#skipSpace(bytes, start, end);
    // The path segment the value about to be read is at: -1 for none, path.length for the key itself.
    let level = 0;
    for (;;) {
      // A value.
      if (at >= end) return INVALID;
      const byte = bytes[at] as number;
      if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        if (depth === MAX_DEPTH) return GIVE_UP;
        if (depth === this.#level.length) this.#grow();
        const isArray = byte === OPEN_ARRAY;
        this.#isArray[depth] = isArray ? 1 : 0;
        this.#level[depth] = !isArray && level >= 0 && level < path.length ? level : -1;
        depth++;
        at = this.#skipSpace(bytes, at + 1, end);
        const close = isArray ? CLOSE_ARRAY : CLOSE_OBJECT;
        if (at < end && bytes[at] === close) {
          depth--;
          at++;
        } else if (isArray) {
          level = -1;
          continue;
        } else {
          at = this.#member(bytes, at, end, this.#level[depth - 1] as number);
          if (at < 0) return INVALID;
          level = this.#pos;
          continue;
        }
      } else if (byte === QUOTE) {
        const after = this.#string(bytes, at + 1, end);
        if (after < 0) return INVALID;
        if (level === path.length) {
          this.#found = Found.string;
          this.#from = at + 1;
          this.#to = after - 1;
          this.#escaped = this.#pos === 1;
        }
        at = after;
      } else if (byte === MINUS || isDigit(byte)) {
        const after = this.#numberEnd(bytes, at, end);
        if (after < 0) return INVALID;
        if (level === path.length) {
          this.#found = Found.number;
          this.#from = at;
          this.#to = after;
        }
        at = after;
      } else {
        const word = byte === 0x74 ? TRUE : byte === 0x66 ? FALSE : byte === 0x6e ? NULL : undefined;
        if (word === undefined || !matches(bytes, at, end, word)) return INVALID;
        at += word.length;
      }
      // After a value: the next member or element, or the end of containers.
      for (;;) {
        at = this.#skipSpace(bytes, at, end);
        if (depth === 0) return at === end ? 0 : INVALID;
        if (at >= end) return INVALID;
        const next = bytes[at] as number;
        const isArray = this.#isArray[depth - 1] === 1;
        if (next === (isArray ? CLOSE_ARRAY : CLOSE_OBJECT)) {
          depth--;
          at++;
          continue;
        }
        if (next !== COMMA) return INVALID;
        at = this.#skipSpace(bytes, at + 1, end);
        if (isArray) level = -1;
        else {
          at = this.#member(bytes, at, end, this.#level[depth - 1] as number);
          if (at < 0) return INVALID;
          level = this.#pos;
        }
        break;
      }
    }
  }

  /**
   * Reads a member's name and colon from `at`; the position of its value, or INVALID. Leaves in `#pos`
   * the path segment its value is at: the next one when the name is segment `level`, else -1. A name
   * that is the segment drops what an earlier member of the same name gave: JSON.parse keeps the last.
   */
  #member(bytes: Uint8Array, at: number, end: number, level: number): number {
    if (at >= end || bytes[at] !== QUOTE) return INVALID;
    const after = this.#string(bytes, at + 1, end);
    if (after < 0) return INVALID;
    const plain = this.#pos === 0;
    let valueLevel = -1;
    if (level >= 0 && this.#isName(bytes, at + 1, after - 1, plain, level)) {
      valueLevel = level + 1;
      this.#found = Found.none;
    }
    let colon = this.#skipSpace(bytes, after, end);
    if (colon >= end || bytes[colon] !== COLON) return INVALID;
    colon = this.#skipSpace(bytes, colon + 1, end);
    this.#pos = valueLevel;
    return colon;
  }

  /** Whether the name `bytes[from, to)` (`plain`: no escapes) is path segment `level`. */
  #isName(bytes: Uint8Array, from: number, to: number, plain: boolean, level: number): boolean {
    const segment = this.#path[level] as Uint8Array;
    let ascii = plain;
    for (let at = from; ascii && at < to; at++) if ((bytes[at] as number) >= 0x80) ascii = false;
    if (ascii) {
      if (to - from !== segment.byteLength) return false;
      for (let i = 0; i < segment.byteLength; i++) if (bytes[from + i] !== segment[i]) return false;
      return true;
    }
    const name = plain
      ? this.#decoder.decode(bytes.subarray(from, to))
      : (JSON.parse(this.#decoder.decode(bytes.subarray(from - 1, to + 1))) as string);
    return name === this.#spec.field[level];
  }

  /**
   * Reads a string from just after its opening quote; the position after its closing quote, or INVALID.
   * `#pos` says whether it has escapes (1) or not (0).
   */
  #string(bytes: Uint8Array, from: number, end: number): number {
    let escaped = 0;
    for (let at = from; at < end; at++) {
      const byte = bytes[at] as number;
      if (byte === QUOTE) {
        this.#pos = escaped;
        return at + 1;
      }
      if (byte < 0x20) return INVALID;
      if (byte === BACKSLASH) {
        escaped = 1;
        const next = bytes[++at] as number;
        if (at >= end) return INVALID;
        if (next === U) {
          if (at + 4 >= end) return INVALID;
          for (let i = 1; i <= 4; i++) if (!isHex(bytes[at + i] as number)) return INVALID;
          at += 4;
        } else if (!ESCAPES.has(next)) return INVALID;
      }
    }
    return INVALID;
  }

  /** The end of the JSON number from `at`, or INVALID: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
  #numberEnd(bytes: Uint8Array, from: number, end: number): number {
    let at = from;
    if (bytes[at] === MINUS) at++;
    if (at >= end || !isDigit(bytes[at] as number)) return INVALID;
    if (bytes[at] === ZERO) at++;
    else while (at < end && isDigit(bytes[at] as number)) at++;
    if (at < end && bytes[at] === DOT) {
      at++;
      if (at >= end || !isDigit(bytes[at] as number)) return INVALID;
      while (at < end && isDigit(bytes[at] as number)) at++;
    }
    if (at < end && (bytes[at] === 0x65 || bytes[at] === 0x45)) {
      at++;
      if (at < end && (bytes[at] === PLUS || bytes[at] === MINUS)) at++;
      if (at >= end || !isDigit(bytes[at] as number)) return INVALID;
      while (at < end && isDigit(bytes[at] as number)) at++;
    }
    return at;
  }

  #skipSpace(bytes: Uint8Array, from: number, end: number): number {
    let at = from;
    while (at < end && isSpace(bytes[at] as number)) at++;
    return at;
  }

  #grow(): void {
    const isArray = new Uint8Array(this.#isArray.length * 2);
    isArray.set(this.#isArray);
    this.#isArray = isArray;
    const level = new Int32Array(this.#level.length * 2);
    level.set(this.#level);
    this.#level = level;
  }
}

const matches = (bytes: Uint8Array, at: number, end: number, word: readonly number[]): boolean => {
  if (at + word.length > end) return false;
  for (let i = 0; i < word.length; i++) if (bytes[at + i] !== word[i]) return false;
  return true;
};
