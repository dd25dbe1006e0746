import { ChunkValidationError } from '../errors.ts';
import { type JsonRecord, NOT_JSON, type RejectRecord } from './step.ts';
import { decodeText, encodeText } from './steps/text.ts';

/** A chunk of NDJSON as records: one per line that is not blank, numbered from the chunk's first line. */
export interface ChunkRecords {
  records: JsonRecord[];
  /** Whether the chunk ended with a line end, which its records written back keep. */
  endsWithNewline: boolean;
}

const parseLine = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
};

export const readRecords = (data: Uint8Array, firstLine: number): ChunkRecords => {
  const text = decodeText(data);
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n');
  const records: JsonRecord[] = [];
  for (const [offset, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    records.push({ line: firstLine + offset, text: line, value: parseLine(line) });
  }
  return { records, endsWithNewline };
};

/** The records as NDJSON: each as it was read unless a step changed it. */
export const writeRecords = (records: readonly JsonRecord[], endsWithNewline: boolean): Uint8Array => {
  if (records.length === 0) return new Uint8Array(0);
  const lines = records.map((record) => (record.changed ? JSON.stringify(record.value) : record.text));
  return encodeText(lines.join('\n') + (endsWithNewline ? '\n' : ''));
};

/** The rejects of a chunk as NDJSON, each with the same keys in the same order. */
export const writeRejects = (rejects: readonly RejectRecord[]): Uint8Array =>
  encodeText(
    `${rejects
      .map(({ line, field, rule, value, reason }) =>
        JSON.stringify({ line, field, rule, value: value ?? null, reason }),
      )
      .join('\n')}\n`,
  );

/**
 * A record's parsed value, for a step that cannot go on without it: a line that is not JSON fails the chunk
 * for good, as `validate:ndjson` would (a `check` ahead of the step takes such lines out instead).
 */
export const jsonOf = (record: JsonRecord, step: string): unknown => {
  if (record.value === NOT_JSON)
    throw new ChunkValidationError(`${step}: line ${record.line} is not valid JSON`);
  return record.value;
};
