import { TaskState } from '../constants.ts';
import { DurationSketch, type SketchData } from './sketch.ts';

export interface TargetStatsData {
  attempts: number;
  completed: number;
  /** Tries that failed with a retryable error: these count against the target's health. */
  retryableFailures: number;
  /** Tries that failed for good (a bad chunk): the target is not to blame. */
  permanentFailures: number;
  /** Retries that came here from another target. */
  redistributedIn: number;
  /** Bytes of the chunks its tries read, each try counted; absent in stats kept before it was counted. */
  bytesIn?: number;
  /** Output bytes of its completed tries. */
  bytesOut?: number;
  durations: SketchData;
}

/** Everything Fanout counts about a set of tasks. Plain data: stored, sent and merged by addition. */
export interface StatsData {
  tasks: number;
  states: Record<TaskState, number>;
  attempts: number;
  /** Tries after the first. */
  retries: number;
  /** Retries sent to another target than the one that failed. */
  redistributed: number;
  /** Deliveries dropped because their try was already claimed or finished. */
  duplicates: number;
  /** Finished tasks by the number of tries they took. */
  attemptsHistogram: Record<string, number>;
  bytesIn: number;
  /** Input bytes of the completed tasks. */
  bytesDone: number;
  /** Output bytes of the completed tasks. */
  bytesOut: number;
  durations: SketchData;
  targets: Record<string, TargetStatsData>;
  /** Start of the first try and end of the last, ms since the epoch: the throughput window. */
  firstAt?: number;
  lastAt?: number;
}

const emptyStates = (): Record<TaskState, number> => ({
  pending: 0,
  processing: 0,
  retrying: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
});

export const emptyStats = (): StatsData => ({
  tasks: 0,
  states: emptyStates(),
  attempts: 0,
  retries: 0,
  redistributed: 0,
  duplicates: 0,
  attemptsHistogram: {},
  bytesIn: 0,
  bytesDone: 0,
  bytesOut: 0,
  durations: new DurationSketch().toJSON(),
  targets: {},
});

const emptyTarget = (): TargetStatsData => ({
  attempts: 0,
  completed: 0,
  retryableFailures: 0,
  permanentFailures: 0,
  redistributedIn: 0,
  bytesIn: 0,
  bytesOut: 0,
  durations: new DurationSketch().toJSON(),
});

const addCounts = <K extends string>(
  a: Record<K, number>,
  b: Partial<Record<K, number>>,
): Record<K, number> => {
  const sum = { ...a };
  for (const [key, value] of Object.entries(b) as [K, number][]) sum[key] = (sum[key] ?? 0) + value;
  return sum;
};

const mergeSketches = (a: SketchData, b: SketchData): SketchData => {
  const sketch = DurationSketch.from(a);
  sketch.merge(b);
  return sketch.toJSON();
};

const minDefined = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
const maxDefined = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

/** Adds two sets of stats: the stats of the union of their tasks. */
export const mergeStats = (a: StatsData, b: StatsData): StatsData => {
  const targets: Record<string, TargetStatsData> = { ...a.targets };
  for (const [name, t] of Object.entries(b.targets)) {
    const mine = targets[name] ?? emptyTarget();
    targets[name] = {
      attempts: mine.attempts + t.attempts,
      completed: mine.completed + t.completed,
      retryableFailures: mine.retryableFailures + t.retryableFailures,
      permanentFailures: mine.permanentFailures + t.permanentFailures,
      redistributedIn: mine.redistributedIn + t.redistributedIn,
      bytesIn: (mine.bytesIn ?? 0) + (t.bytesIn ?? 0),
      bytesOut: (mine.bytesOut ?? 0) + (t.bytesOut ?? 0),
      durations: mergeSketches(mine.durations, t.durations),
    };
  }
  const merged: StatsData = {
    tasks: a.tasks + b.tasks,
    states: addCounts(a.states, b.states),
    attempts: a.attempts + b.attempts,
    retries: a.retries + b.retries,
    redistributed: a.redistributed + b.redistributed,
    duplicates: a.duplicates + b.duplicates,
    attemptsHistogram: addCounts(a.attemptsHistogram, b.attemptsHistogram),
    bytesIn: a.bytesIn + b.bytesIn,
    bytesDone: a.bytesDone + b.bytesDone,
    bytesOut: a.bytesOut + b.bytesOut,
    durations: mergeSketches(a.durations, b.durations),
    targets,
  };
  const firstAt = minDefined(a.firstAt, b.firstAt);
  const lastAt = maxDefined(a.lastAt, b.lastAt);
  if (firstAt !== undefined) merged.firstAt = firstAt;
  if (lastAt !== undefined) merged.lastAt = lastAt;
  return merged;
};

export interface AttemptEnd {
  target: string;
  attempt: number;
  outcome: typeof TaskState.completed | typeof TaskState.retrying | typeof TaskState.failed;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  bytesIn: number;
  bytesOut?: number;
  /** False when the try failed for good, which says nothing of the target's health. */
  retryable?: boolean;
}

/**
 * Counts a job's tasks as they move. Every method matches one task-state transition, so the counts
 * are exact as long as each transition is reported once, which the task store's claim rules ensure.
 */
export class StatsCollector {
  readonly #data = emptyStats();
  readonly #durations = new DurationSketch();
  readonly #targetDurations = new Map<string, DurationSketch>();

  taskCreated(bytes: number): void {
    this.#data.tasks++;
    this.#data.states.pending++;
    this.#data.bytesIn += bytes;
  }

  attemptStarted(target: string, attempt: number, previousTarget: string | undefined, at: number): void {
    const data = this.#data;
    data.states[attempt === 1 ? TaskState.pending : TaskState.retrying]--;
    data.states.processing++;
    data.attempts++;
    if (attempt > 1) data.retries++;
    if (previousTarget !== undefined && previousTarget !== target) {
      data.redistributed++;
      this.#target(target).redistributedIn++;
    }
    data.firstAt = minDefined(data.firstAt, at);
  }

  attemptEnded(end: AttemptEnd): void {
    const data = this.#data;
    const target = this.#target(end.target);
    data.states.processing--;
    data.states[end.outcome]++;
    target.attempts++;
    target.bytesIn = (target.bytesIn ?? 0) + end.bytesIn;
    this.#durations.add(end.durationMs);
    this.#targetSketch(end.target).add(end.durationMs);
    if (end.outcome === TaskState.completed) {
      target.completed++;
      target.bytesOut = (target.bytesOut ?? 0) + (end.bytesOut ?? 0);
      data.bytesDone += end.bytesIn;
      data.bytesOut += end.bytesOut ?? 0;
    } else if (end.retryable === false) target.permanentFailures++;
    else target.retryableFailures++;
    if (end.outcome !== TaskState.retrying) {
      data.attemptsHistogram[end.attempt] = (data.attemptsHistogram[end.attempt] ?? 0) + 1;
    }
    data.lastAt = maxDefined(data.lastAt, end.endedAt);
  }

  /**
   * A task that will not run again: its job was cancelled while it waited in `from`, or while a try of it
   * that no worker runs any more (its worker died) was `processing`.
   */
  taskCancelled(
    from: typeof TaskState.pending | typeof TaskState.retrying | typeof TaskState.processing,
  ): void {
    this.#data.states[from]--;
    this.#data.states.cancelled++;
  }

  /** A task that had failed for good, put back to run again after its `tries` tries (a re-run). */
  taskReopened(tries: number): void {
    const data = this.#data;
    data.states.failed--;
    data.states.retrying++;
    data.attemptsHistogram[tries] = (data.attemptsHistogram[tries] ?? 0) - 1;
  }

  duplicateDropped(): void {
    this.#data.duplicates++;
  }

  snapshot(): StatsData {
    const targets: Record<string, TargetStatsData> = {};
    for (const [name, t] of Object.entries(this.#data.targets)) {
      targets[name] = { ...t, durations: this.#targetSketch(name).toJSON() };
    }
    return {
      ...this.#data,
      states: { ...this.#data.states },
      attemptsHistogram: { ...this.#data.attemptsHistogram },
      durations: this.#durations.toJSON(),
      targets,
    };
  }

  #target(name: string): TargetStatsData {
    let target = this.#data.targets[name];
    if (target === undefined) {
      target = emptyTarget();
      this.#data.targets[name] = target;
    }
    return target;
  }

  #targetSketch(name: string): DurationSketch {
    let sketch = this.#targetDurations.get(name);
    if (sketch === undefined) {
      sketch = new DurationSketch();
      this.#targetDurations.set(name, sketch);
    }
    return sketch;
  }
}
