import type { JobView } from './job.ts';
import type { Attempt } from './task.ts';

/** What `GET /jobs/{id}/events` streams. */
export const JobEventType = {
  progress: 'progress',
  failure: 'failure',
  retry: 'retry',
  redistribution: 'redistribution',
  breaker: 'breaker',
  end: 'end',
} as const;
export type JobEventType = (typeof JobEventType)[keyof typeof JobEventType];

/** One event of a job, numbered from 1 in the order it happened. */
export interface JobEvent {
  id: number;
  type: JobEventType;
  data: Record<string, unknown>;
}

/**
 * The statuses a job ends in. Written as text, not from `JobStatus`, so that statuses added beside
 * today's (`cancelled`) end a job here too.
 */
const END_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'completed_with_failures',
  'failed',
  'cancelled',
]);
export const isEndStatus = (status: string): boolean => END_STATUSES.has(status);

/** Failures, retries and redistributions a job's log keeps; past that they are only counted. */
export const MAX_DETAIL_EVENTS = 1000;

const DETAIL: ReadonlySet<JobEventType> = new Set([
  JobEventType.failure,
  JobEventType.retry,
  JobEventType.redistribution,
]);

/**
 * A job's events for its whole life, bounded: a new `progress` replaces the one before it (only the
 * latest counts matter), and failures, retries and redistributions past `maxDetail` are counted in
 * `omitted`, which every later progress and the end carry. A reader resumes after any id it saw and
 * gets every event kept after it, once, in order; `end` is always last, unless a re-run of the job's
 * failed chunks reopened the log: its events then follow, up to its own end.
 */
export class JobEventLog {
  readonly #events: JobEvent[] = [];
  readonly #maxDetail: number;
  readonly #waiters = new Set<() => void>();
  #nextId = 1;
  #details = 0;
  #omitted = 0;
  #ended = false;

  constructor(maxDetail = MAX_DETAIL_EVENTS) {
    this.#maxDetail = maxDetail;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Detail events counted and not kept. */
  get omitted(): number {
    return this.#omitted;
  }

  /** Takes events again after `end`: a re-run of the job's failed chunks runs it again, to a new end. */
  reopen(): void {
    this.#ended = false;
  }

  /** Appends an event; nothing is appended after `end` unless the log is reopened. */
  append(type: JobEventType, data: Record<string, unknown>): JobEvent | undefined {
    if (this.#ended) return undefined;
    if (DETAIL.has(type)) {
      if (this.#details >= this.#maxDetail) {
        this.#omitted++;
        return undefined;
      }
      this.#details++;
    }
    if (type === JobEventType.progress) {
      const last = this.#events.findLastIndex((e) => e.type === JobEventType.progress);
      if (last >= 0) this.#events.splice(last, 1);
    }
    const withOmitted =
      (type === JobEventType.progress || type === JobEventType.end) && this.#omitted > 0
        ? { ...data, omittedEvents: this.#omitted }
        : data;
    const event = { id: this.#nextId++, type, data: withOmitted };
    this.#events.push(event);
    if (type === JobEventType.end) this.#ended = true;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    return event;
  }

  /** The events kept after `afterId`, in order. */
  since(afterId: number): JobEvent[] {
    const first = this.#events.findIndex((e) => e.id > afterId);
    return first < 0 ? [] : this.#events.slice(first);
  }

  /**
   * Every event after `afterId`, then each one as it comes, until `end`. Yields `null` whenever
   * `idleMs` pass without one (for a keep-alive), and stops when `signal` aborts.
   */
  async *follow(afterId: number, idleMs: number, signal?: AbortSignal): AsyncGenerator<JobEvent | null> {
    let cursor = afterId;
    while (!signal?.aborted) {
      const events = this.since(cursor);
      for (const event of events) {
        cursor = event.id;
        yield event;
        // An end followed by more events was a re-run's start: the stream goes on to the next end.
        if (event.type === JobEventType.end && this.#ended && this.since(event.id).length === 0) return;
      }
      if (events.length > 0) continue;
      if (this.#ended) return;
      const woken = await this.#next(idleMs, signal);
      if (!woken) yield null;
    }
  }

  #next(idleMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', aborted);
        resolve(woken);
      };
      const wake = () => done(true);
      const aborted = () => done(true);
      const timer = setTimeout(() => done(false), idleMs);
      // A reader waiting for a job that never ends must not keep the process alive.
      timer.unref?.();
      this.#waiters.add(wake);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

/** A try that ended without completing, as a runtime saw it. */
export interface FailedTry {
  index: number;
  attempt: number;
  target: string;
  error: string;
  /** True when the chunk failed for good; false when another try follows. */
  final: boolean;
}

/** The counts a progress event carries, from a job's view. */
const progressOf = (view: JobView): Record<string, unknown> => ({
  status: view.status,
  chunksTotal: view.chunksTotal,
  chunksCompleted: view.chunksCompleted,
  chunksFailed: view.chunksFailed,
  percentComplete: view.percentComplete,
  ...(view.ingest && { ingest: view.ingest }),
});

/**
 * Turns what a runtime observes of one job into its events: views (progress, breaker changes, the end),
 * failed tries (failure, and retry when another try follows) and tries moved to another target
 * (redistribution). Each runtime has a source that feeds it; the log and the stream are the same.
 */
export class JobEventFeed {
  readonly log: JobEventLog;
  #progress = '';
  readonly #breakers = new Map<string, string>();

  constructor(log = new JobEventLog()) {
    this.log = log;
  }

  /** A view of the job: a progress event when its counts or status moved, breakers that changed, its end. */
  view(view: JobView): void {
    if (this.log.ended && !isEndStatus(view.status)) this.log.reopen();
    for (const [target, report] of Object.entries(view.stats.targets)) {
      const state = (report as { breaker?: string }).breaker;
      if (state === undefined) continue;
      const before = this.#breakers.get(target);
      this.#breakers.set(target, state);
      if (before !== undefined && before !== state) {
        this.log.append(JobEventType.breaker, { target, from: before, to: state });
      }
    }
    const progress = progressOf(view);
    const key = JSON.stringify(progress);
    if (key !== this.#progress) {
      this.#progress = key;
      if (!isEndStatus(view.status)) this.log.append(JobEventType.progress, progress);
    }
    if (isEndStatus(view.status)) this.log.append(JobEventType.end, { ...view });
  }

  failed(failure: FailedTry): void {
    this.log.append(JobEventType.failure, { ...failure });
    if (!failure.final) {
      this.log.append(JobEventType.retry, {
        index: failure.index,
        attempt: failure.attempt + 1,
        after: failure.target,
      });
    }
  }

  redistributed(move: { index: number; attempt: number; from: string; to: string }): void {
    this.log.append(JobEventType.redistribution, { ...move });
  }

  /**
   * Feeds the tries of `attempts` not seen yet (`seen` tries of this task were): each failed one, and
   * each that ran on another target than the try before it. Returns how many tries it has now seen.
   */
  attempts(index: number, attempts: readonly Attempt[], seen: number): number {
    let count = seen;
    for (let i = seen; i < attempts.length; i++) {
      const a = attempts[i] as Attempt;
      if (a.endedAt === undefined) break;
      const before = attempts[i - 1];
      if (before !== undefined && before.target !== a.target) {
        this.redistributed({ index, attempt: a.attempt, from: before.target, to: a.target });
      }
      if (a.outcome === 'retrying' || a.outcome === 'failed') {
        const error = a.error?.message ?? 'unknown error';
        this.failed({ index, attempt: a.attempt, target: a.target, error, final: a.outcome === 'failed' });
      }
      count = i + 1;
    }
    return count;
  }
}

/** Where a runtime keeps its jobs' events: the log of a job, or undefined for a job it does not know. */
export interface JobEventSource {
  log(jobId: string): Promise<JobEventLog | undefined>;
}
