import { createReadStream } from 'node:fs';

/** What a streaming pass over an NDJSON file of the bench's records found. */
export interface RecordsSummary {
  records: number;
  bytes: number;
  /** The sum and the XOR of the records' ids: a permutation of the same records keeps both. */
  idSum: number;
  idXor: number;
  /** Records whose `field` is less than the one before (0 for a file sorted ascending by it). */
  outOfOrder: number;
}

const NEWLINE = 0x0a;

/**
 * Reads `path` record by record, never holding more than a block and a line, and sums up its records:
 * how many, their ids, and how many break the ascending order of the number at `field` (a top-level
 * field every record of bench/lib/input.ts has).
 */
export const summarizeRecords = async (path: string, field: string): Promise<RecordsSummary> => {
  const summary: RecordsSummary = { records: 0, bytes: 0, idSum: 0, idXor: 0, outOfOrder: 0 };
  let last = Number.NEGATIVE_INFINITY;
  let rest = Buffer.alloc(0);
  const take = (line: Buffer): void => {
    if (line.byteLength === 0) return;
    const record = JSON.parse(line.toString('utf8')) as Record<string, number>;
    const key = record[field] as number;
    summary.records++;
    summary.idSum += record.id as number;
    summary.idXor ^= record.id as number;
    if (key < last) summary.outOfOrder++;
    last = key;
  };
  for await (const block of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    summary.bytes += block.byteLength;
    const data = rest.byteLength > 0 ? Buffer.concat([rest, block]) : block;
    let start = 0;
    for (let end = data.indexOf(NEWLINE); end >= 0; end = data.indexOf(NEWLINE, start)) {
      take(data.subarray(start, end));
      start = end + 1;
    }
    rest = Buffer.from(data.subarray(start));
  }
  take(rest);
  return summary;
};
