import type { ResultRef } from '../core/task.ts';
import type { ResultStore } from '../ports/result-store.ts';

const NEWLINE = 0x0a;
const NO_BYTES = new Uint8Array(0);

/** A stored output a run lies in, whole or in part, and its bytes. */
export interface RunSegment {
  ref: ResultRef;
  length: number;
}

/** One stored run's lines, as `RunReader` reads them: the run is its segments' bytes, one after the other. */
export interface RunSource {
  results: ResultStore;
  jobId: string;
  segments: readonly RunSegment[];
}

/**
 * Reads one stored run line by line through a window it is handed, without holding the run: the window
 * is read in two halves with `readRange`, each into its own half, the next half asked for as soon as the
 * one before it is taken, so that the store's latency hides behind the consumption of the other.
 *
 * A merge of thousands of runs reads hundreds of thousands of ranges, each waited for long after it was
 * asked (every other run takes its turn meanwhile), so whatever a read leaves until it is taken outlives
 * the young generation and piles up in the old one (issue 24). So no read allocates a buffer, and none
 * leaves a promise to be awaited: a read's answer is noted as it lands, and a line whose block has landed
 * is had without awaiting anything.
 *
 * A line is handed out as a range of bytes, `bytes[start, end)`, good until the next call: in the window
 * where it lies whole, or in a carry buffer where it was gathered across reads. A line longer than a half
 * is gathered until its newline, each read as large as what it has gathered so far (in a buffer of its
 * own), so even a line of many windows costs a few reads.
 */
export class RunReader {
  /** The current line, `bytes[start, end)` without its newline, once `nextNow` or `next` said there is one. */
  bytes: Uint8Array = NO_BYTES;
  start = 0;
  end = 0;

  #source: RunSource;
  #halves: [Uint8Array, Uint8Array] = [NO_BYTES, NO_BYTES];
  /** The segment being asked for, and its bytes asked for so far. */
  #segment = 0;
  #asked = 0;
  /** The read in flight or landed, when there is one: its length, where it lands and in which half (-1: neither). */
  #reading = false;
  #readLength = 0;
  #readInto: Uint8Array = NO_BYTES;
  #readHalf = 0;
  #landed = false;
  #failure: Error | undefined;
  /** Called when the read lands, while `next` or `settle` waits for it. */
  #wake: (() => void) | undefined;
  readonly #onLanded: (answer: Uint8Array) => void;
  readonly #onFailed: (error: unknown) => void;
  /** The block of the run being read: `#block[0, #blockEnd)`, in half `#blockHalf` (-1: a buffer of its own). */
  #block: Uint8Array = NO_BYTES;
  #blockEnd = 0;
  #blockHalf = 1;
  /** Where the next line starts in the block. */
  #pos = 0;
  /** Where to look for its newline from: the bytes before hold none. */
  #scan = 0;
  /** The start of a line that began in blocks before this one: `#carry[0, #carried)`. */
  #carry: Uint8Array = NO_BYTES;
  #carried = 0;

  /** `window` is the reader's own: at least 2 bytes, read into for as long as the reader is used. */
  constructor(source: RunSource, window: Uint8Array) {
    this.#source = source;
    this.#onLanded = (answer) => this.#land(answer);
    this.#onFailed = (error) => {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      this.#landed = true;
      this.#wake?.();
    };
    this.open(source, window);
  }

  /**
   * Starts reading `source` through `window`, from its start, as a new reader would: a merge of many
   * groups of runs reads each group with the same readers rather than leave readers of every group to
   * the collector. Only once the reader is settled (`settle`): a read in flight would land in the new run.
   */
  open(source: RunSource, window: Uint8Array): void {
    if (window.byteLength < 2) {
      throw new RangeError(`a run's window must hold 2 bytes or more, not ${window.byteLength}`);
    }
    const half = Math.floor(window.byteLength / 2);
    this.#source = source;
    this.#halves = [window.subarray(0, half), window.subarray(half, 2 * half)];
    this.bytes = NO_BYTES;
    this.start = this.end = 0;
    this.#segment = this.#asked = 0;
    this.#reading = this.#landed = false;
    this.#failure = undefined;
    this.#block = NO_BYTES;
    this.#blockEnd = this.#pos = this.#scan = this.#carried = 0;
    this.#blockHalf = 1;
    this.#fetch();
  }

  /**
   * Moves to the next line when it can without waiting, and says whether it did: false when a read must
   * land first, or the run is done (`next` tells them apart). Throws what a read failed with.
   */
  nextNow(): boolean {
    for (;;) {
      const end = this.#block.indexOf(NEWLINE, this.#scan);
      if (end >= 0 && end < this.#blockEnd) {
        this.#take(end, end + 1);
        return true;
      }
      this.#scan = this.#blockEnd;
      if (!this.#reading) {
        // The run's last line, which lacks its newline.
        const length = this.#blockEnd;
        if (this.#carried + length - this.#pos === 0) return false;
        this.#take(length, length);
        return true;
      }
      if (!this.#landed) return false;
      if (this.#failure !== undefined) throw this.#failure;
      // The rest of the block is the start of a line: kept before the block it lies in is read into again.
      if (this.#pos < this.#blockEnd) this.#carryOn(this.#pos, this.#blockEnd);
      this.#block = this.#readInto;
      this.#blockEnd = this.#readLength;
      this.#blockHalf = this.#readHalf;
      this.#pos = this.#scan = 0;
      this.#fetch();
    }
  }

  /**
   * Moves to the next line, waiting for reads as needed; false once the run is done. The run's last line
   * may lack its newline.
   */
  async next(): Promise<boolean> {
    for (;;) {
      if (this.nextNow()) return true;
      if (!this.#reading) return false;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  /**
   * Resolves once no read is in flight, so that the window can be handed to another reader: a merge that
   * stops early (a limit, a failure) leaves a read in flight, which would land in it later.
   */
  async settle(): Promise<void> {
    while (this.#reading && !this.#landed) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  /** The current line as a view, for a caller that wants one: good until the next call. */
  line(): Uint8Array {
    return this.bytes.subarray(this.start, this.end);
  }

  /** Makes the line from its start to `end` in the block current, the next one starting at `next`. */
  #take(end: number, next: number): void {
    if (this.#carried === 0) {
      this.bytes = this.#block;
      this.start = this.#pos;
      this.end = end;
    } else {
      this.#carryOn(this.#pos, end);
      this.bytes = this.#carry;
      this.start = 0;
      this.end = this.#carried;
      // The carry holds this line until the next call, which may gather another one there.
      this.#carried = 0;
    }
    this.#pos = this.#scan = next;
  }

  /** Appends the block's bytes [from, to) to the carry, growing it as needed. */
  #carryOn(from: number, to: number): void {
    const needed = this.#carried + to - from;
    if (needed > this.#carry.byteLength) {
      const grown = new Uint8Array(Math.max(needed, 2 * this.#carry.byteLength, 64));
      grown.set(this.#carry.subarray(0, this.#carried));
      this.#carry = grown;
    }
    this.#carry.set(this.#block.subarray(from, to), this.#carried);
    this.#carried = needed;
  }

  /**
   * Asks for the next half window of the run into the half not being read, or as much as the line being
   * gathered into a buffer of its own, within one segment; nothing once all was.
   */
  #fetch(): void {
    const { results, jobId, segments } = this.#source;
    while (this.#segment < segments.length && this.#asked >= (segments[this.#segment] as RunSegment).length) {
      this.#segment++;
      this.#asked = 0;
    }
    const segment = segments[this.#segment];
    this.#reading = segment !== undefined;
    if (segment === undefined) return;
    const halfBytes = this.#halves[0].byteLength;
    const length = Math.min(Math.max(halfBytes, this.#carried), segment.length - this.#asked);
    const half = length > halfBytes ? -1 : this.#blockHalf === 0 ? 1 : 0;
    this.#readLength = length;
    this.#readHalf = half;
    this.#readInto = half === 0 || half === 1 ? this.#halves[half] : new Uint8Array(length);
    this.#landed = false;
    // A merge that stops early (a limit, a failure elsewhere) leaves it to land unseen.
    results
      .readRange(jobId, segment.ref, this.#asked, length, this.#readInto)
      .then(this.#onLanded, this.#onFailed);
    this.#asked += length;
  }

  #land(answer: Uint8Array): void {
    const into = this.#readInto;
    if (answer.byteLength !== this.#readLength) {
      const { ref, length } = this.#source.segments[this.#segment] as RunSegment;
      this.#failure = new Error(
        `run ${ref} of job ${this.#source.jobId} holds fewer than its ${length} bytes`,
      );
    } else if (answer.buffer !== into.buffer || answer.byteOffset !== into.byteOffset) {
      // A store that ignored `into` answered in a buffer of its own.
      into.set(answer);
    }
    this.#landed = true;
    this.#wake?.();
  }
}
