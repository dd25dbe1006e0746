import type { ResultRef } from '../core/task.ts';
import type { ResultStore } from '../ports/result-store.ts';
import { concat } from '../util/bytes.ts';

const NEWLINE = 0x0a;

/** One stored run's lines, as `RunReader` reads them. */
export interface RunSource {
  results: ResultStore;
  jobId: string;
  ref: ResultRef;
  /** Bytes of the run. */
  length: number;
}

/** A read asked of the store, and how many bytes it must answer. */
interface Fetch {
  bytes: Promise<Uint8Array>;
  length: number;
}

/**
 * Reads one stored run line by line through a window of `windowBytes`, without holding the run: the
 * window is read in two halves with `readRange`, the next half asked for as soon as the one before it
 * is taken, so that the store's latency hides behind the consumption of the other. A line longer than
 * the window is gathered until its newline, each read as large as what it has gathered so far, so even
 * a line of many windows costs a few reads.
 */
export class RunReader {
  readonly #source: RunSource;
  readonly #half: number;
  /** Bytes of the run asked for so far. */
  #asked = 0;
  #next: Fetch | undefined;
  #buffer: Uint8Array = new Uint8Array(0);
  /** Where the next line starts in the buffer. */
  #start = 0;
  /** Where to look for its newline from: the bytes before hold none. */
  #scan = 0;
  /** The start of a line that began in windows before this one, and its bytes. */
  #parts: Uint8Array[] = [];
  #partBytes = 0;

  constructor(source: RunSource, windowBytes: number) {
    this.#source = source;
    this.#half = Math.max(1, Math.floor(windowBytes / 2));
    this.#next = this.#fetch();
  }

  /**
   * The next line without its newline when the window holds its end; undefined when the window must be
   * refilled first, or the run is done (`next` tells them apart). The line may be a view of the window,
   * good until the next call.
   */
  lineNow(): Uint8Array | undefined {
    const end = this.#buffer.indexOf(NEWLINE, this.#scan);
    if (end < 0) {
      this.#scan = this.#buffer.byteLength;
      return undefined;
    }
    return this.#take(end, end + 1);
  }

  /**
   * The next line without its newline, refilling the window as needed; undefined once the run is done.
   * The run's last line may lack its newline.
   */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const line = this.lineNow();
      if (line !== undefined) return line;
      const fetch = this.#next;
      if (fetch === undefined) {
        const length = this.#buffer.byteLength;
        return this.#partBytes + length - this.#start > 0 ? this.#take(length, length) : undefined;
      }
      const block = await fetch.bytes;
      if (block.byteLength !== fetch.length) {
        throw new Error(
          `run ${this.#source.ref} of job ${this.#source.jobId} holds fewer than its ${this.#source.length} bytes`,
        );
      }
      if (this.#start < this.#buffer.byteLength) {
        this.#parts.push(this.#buffer.subarray(this.#start));
        this.#partBytes += this.#buffer.byteLength - this.#start;
      }
      // A plain view, whatever the store hands out: a Buffer's subarray costs several times as much.
      this.#buffer = new Uint8Array(block.buffer, block.byteOffset, block.byteLength);
      this.#start = this.#scan = 0;
      this.#next = this.#fetch();
    }
  }

  /** The line from its start to `end` in the buffer, the next one starting at `next`. */
  #take(end: number, next: number): Uint8Array {
    const tail = this.#buffer.subarray(this.#start, end);
    this.#start = this.#scan = next;
    if (this.#parts.length === 0) return tail;
    const line = concat([...this.#parts, tail]);
    this.#parts = [];
    this.#partBytes = 0;
    return line;
  }

  /** Asks for the next half window of the run, or as much as the line being gathered; none once all was. */
  #fetch(): Fetch | undefined {
    const { results, jobId, ref, length: total } = this.#source;
    if (this.#asked >= total) return undefined;
    const length = Math.min(Math.max(this.#half, this.#partBytes), total - this.#asked);
    const bytes = results.readRange(jobId, ref, this.#asked, length);
    // Read ahead: a merge that stops early (a limit, a failure elsewhere) never awaits it.
    bytes.catch(() => {});
    this.#asked += length;
    return { bytes, length };
  }
}
