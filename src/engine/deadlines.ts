/** A thread's slot: which try it runs and until when, as float64s in memory every thread shares. */
const THREAD = 0;
const BATCH = 1;
const POSITION = 2;
const STARTED = 3;
const DEADLINE = 4;
const FIELDS = 5;

/**
 * Slots on the board. A thread writes to the slot its id falls on; a replaced thread gets a new id, so two
 * threads of one pool (at most 64) share a slot only after hundreds of replacements.
 */
const SLOTS = 256;

const slotOf = (threadId: number): number => (threadId % SLOTS) * FIELDS;

/** A try running past its deadline: on which thread, which try of which batch, since when. */
export interface LateTry {
  threadId: number;
  /** The batch's id, as the main thread numbered it. */
  batch: number;
  /** The try's place in its batch. */
  position: number;
  startedAt: number;
  deadline: number;
}

/**
 * Where each worker thread writes the try it runs and its deadline, and the main thread reads them: a
 * try that never yields cannot say it is late, so the main thread must see it from outside.
 */
export class DeadlineBoard {
  readonly buffer: SharedArrayBuffer;
  readonly #slots: Float64Array;

  constructor(buffer = new SharedArrayBuffer(SLOTS * FIELDS * Float64Array.BYTES_PER_ELEMENT)) {
    this.buffer = buffer;
    this.#slots = new Float64Array(buffer);
  }

  /** On a worker thread: try `position` of `batch` started at `startedAt` and must end by `deadline`. */
  started(threadId: number, batch: number, position: number, startedAt: number, deadline: number): void {
    const at = slotOf(threadId);
    // The deadline last: the main thread never reads a deadline next to another try's numbers.
    this.#slots[at + DEADLINE] = 0;
    this.#slots[at + THREAD] = threadId;
    this.#slots[at + BATCH] = batch;
    this.#slots[at + POSITION] = position;
    this.#slots[at + STARTED] = startedAt;
    this.#slots[at + DEADLINE] = deadline;
  }

  /** On a worker thread, or for a thread the main thread ended: it runs no try. */
  idle(threadId: number): void {
    const at = slotOf(threadId);
    if (this.#slots[at + THREAD] === threadId) this.#slots[at + DEADLINE] = 0;
  }

  /** The tries whose deadline passed before `time`. */
  lateAt(time: number): LateTry[] {
    const late: LateTry[] = [];
    for (let at = 0; at < this.#slots.length; at += FIELDS) {
      const deadline = this.#slots[at + DEADLINE] as number;
      if (deadline === 0 || deadline >= time) continue;
      late.push({
        threadId: this.#slots[at + THREAD] as number,
        batch: this.#slots[at + BATCH] as number,
        position: this.#slots[at + POSITION] as number,
        startedAt: this.#slots[at + STARTED] as number,
        deadline,
      });
    }
    return late;
  }
}
