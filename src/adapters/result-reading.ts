import type { ResultRef } from '../core/task.ts';
import { MissingResultError } from '../ports/errors.ts';
import type { ResultStore } from '../ports/result-store.ts';

/** A ref as the stores that keep outputs at byte ranges write it: `unit:offset:length`. */
export interface Span {
  unit: string;
  offset: number;
  length: number;
}

const SPAN = /^([A-Za-z0-9_-]*):(\d{1,15}):(\d{1,15})$/;

export const formatSpan = ({ unit, offset, length }: Span): ResultRef => `${unit}:${offset}:${length}`;

export const parseSpan = (jobId: string, ref: ResultRef): Span => {
  const match = SPAN.exec(ref);
  if (match === null) throw new MissingResultError(jobId, ref);
  return { unit: match[1] as string, offset: Number(match[2]), length: Number(match[3]) };
};

/**
 * Where `readRange(…, offset, length)` lies within an output of `size` bytes, as [start, end) in it:
 * clamped to its end, so empty when `offset` is at or past it.
 */
export const clampRange = (size: number, offset: number, length: number): { start: number; end: number } => ({
  start: Math.min(offset, size),
  end: Math.min(offset + length, size),
});

const checkBytes = (name: string, value: number): void => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`a range's ${name} must be a whole number of bytes, 0 or more: ${value}`);
  }
};

/**
 * For `readRange`: throws `RangeError` unless `offset` and `length` are both safe integers of 0 or more,
 * and `into`, when given, holds `length` bytes.
 */
export const checkRange = (offset: number, length: number, into?: Uint8Array): void => {
  checkBytes('offset', offset);
  checkBytes('length', length);
  if (into !== undefined && into.byteLength < length) {
    throw new RangeError(`a range of ${length} bytes does not fit the ${into.byteLength} bytes read into`);
  }
};

/** `data` as `readRange` answers it: as it is, or copied into the start of `into` and viewed there. */
export const answerRange = (data: Uint8Array, into?: Uint8Array): Uint8Array => {
  if (into === undefined) return data;
  into.set(data);
  return into.subarray(0, data.byteLength);
};

/**
 * The ranges that cover `spans` in as few reads as possible: per unit, spans in offset order merge into
 * one range while it stays within `maxBytes`, gaps included (a byte read is far cheaper than a request).
 */
export const coveringRanges = (spans: readonly Span[], maxBytes: number): Span[] => {
  const sorted = [...spans].sort((a, b) => a.unit.localeCompare(b.unit) || a.offset - b.offset);
  const ranges: Span[] = [];
  for (const span of sorted) {
    const range = ranges.at(-1);
    const end = span.offset + span.length;
    if (range !== undefined && range.unit === span.unit && end - range.offset <= maxBytes) {
      range.length = Math.max(range.length, end - range.offset);
    } else ranges.push({ ...span });
  }
  return ranges;
};

/** One output, for callers that need a single one. */
export const readOne = async (store: ResultStore, jobId: string, ref: ResultRef): Promise<Uint8Array> => {
  for await (const data of store.read(jobId, [ref])) return data;
  throw new MissingResultError(jobId, ref);
};
