import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '../core/job.ts';
import { isEndStatus, JobEventFeed, type JobEventLog, type JobEventSource } from '../core/job-events.ts';
import type { TaskRecord } from '../core/task.ts';

/** What the polling source reads of a job: its view, and its task records with their tries. */
export interface JobReader {
  getJob(jobId: string): Promise<JobView | undefined>;
  listTasks(jobId: string): Promise<TaskRecord[]>;
}

export interface PolledJobEventsOptions {
  /** How often a job's view is read: progress, breakers, the end. @default 250 */
  viewIntervalMs?: number;
  /** How often its task records are read for tries that failed or moved. @default 1000 */
  tasksIntervalMs?: number;
  onError?: (error: unknown) => void;
}

interface Watched {
  feed: JobEventFeed;
  /** Tries of each task already fed. */
  seen: Map<number, number>;
}

/**
 * The cloud's source of job events, where the state lives in a store: once a job's events are first
 * asked for, its view is read every `viewIntervalMs` and its task records every `tasksIntervalMs`, until
 * it ends. Every try is in the task records, so the failures, retries and redistributions before the
 * first reader are there too; the log then lives as long as this source.
 */
export class PolledJobEvents implements JobEventSource {
  readonly #reader: JobReader;
  readonly #options: Required<PolledJobEventsOptions>;
  readonly #jobs = new Map<string, Watched>();
  readonly #stop = new AbortController();

  constructor(reader: JobReader, options: PolledJobEventsOptions = {}) {
    this.#reader = reader;
    this.#options = {
      viewIntervalMs: 250,
      tasksIntervalMs: 1000,
      onError: (error) => console.error(error),
      ...options,
    };
  }

  async log(jobId: string): Promise<JobEventLog | undefined> {
    const known = this.#jobs.get(jobId);
    if (known !== undefined) {
      if (known.feed.log.ended) await this.#rerun(jobId, known);
      return known.feed.log;
    }
    const view = await this.#reader.getJob(jobId);
    if (view === undefined) return undefined;
    const again = this.#jobs.get(jobId);
    if (again !== undefined) return again.feed.log;
    const watched: Watched = { feed: new JobEventFeed(), seen: new Map() };
    this.#jobs.set(jobId, watched);
    void this.#poll(jobId, watched);
    return watched.feed.log;
  }

  close(): void {
    this.#stop.abort();
  }

  /** A job whose log ended runs again when its failed chunks were re-run: its polling starts again. */
  async #rerun(jobId: string, watched: Watched): Promise<void> {
    const view = await this.#reader.getJob(jobId);
    if (view === undefined || isEndStatus(view.status)) return;
    watched.feed.view(view);
    void this.#poll(jobId, watched);
  }

  async #poll(jobId: string, watched: Watched): Promise<void> {
    const { viewIntervalMs, tasksIntervalMs } = this.#options;
    let tasksReadAt = 0;
    while (!watched.feed.log.ended && !this.#stop.signal.aborted) {
      try {
        if (Date.now() - tasksReadAt >= tasksIntervalMs) {
          tasksReadAt = Date.now();
          await this.#tries(jobId, watched);
        }
        const view = await this.#reader.getJob(jobId);
        // The last tries are fed before the end, which must come last.
        if (view !== undefined && isEndStatus(view.status)) await this.#tries(jobId, watched);
        if (view !== undefined) watched.feed.view(view);
      } catch (error) {
        this.#options.onError(error);
      }
      await sleep(viewIntervalMs, undefined, { signal: this.#stop.signal }).catch(() => {});
    }
  }

  async #tries(jobId: string, { feed, seen }: Watched): Promise<void> {
    for (const task of await this.#reader.listTasks(jobId)) {
      const before = seen.get(task.index) ?? 0;
      if (task.attempts.length > before)
        seen.set(task.index, feed.attempts(task.index, task.attempts, before));
    }
  }
}
