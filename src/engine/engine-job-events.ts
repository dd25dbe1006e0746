import { JobEventFeed, type JobEventLog, type JobEventSource } from '../core/job-events.ts';
import type { Engine } from './engine.ts';
import type { EngineEvents } from './target-lifecycle.ts';

/** How often the views of jobs under way are read for progress, breakers and the end: 4 a second. */
export const PROGRESS_INTERVAL_MS = 250;

/**
 * The engine's source of job events: every try that fails or moves from its `events` as it happens, and
 * the view of each job under way, read every `intervalMs` (progress, breakers and the end). A job's log
 * starts when the engine takes it, so a reader that comes late still gets every event of its life.
 */
export class EngineJobEvents implements JobEventSource {
  readonly #engine: Engine;
  readonly #feeds = new Map<string, JobEventFeed>();
  readonly #timer: NodeJS.Timeout;
  readonly #off: () => void;

  constructor(engine: Engine, intervalMs = PROGRESS_INTERVAL_MS) {
    this.#engine = engine;
    const submitted = ({ jobId }: EngineEvents['submitted'][0]) => this.#feed(jobId);
    const attempt = (end: EngineEvents['attempt'][0]) => {
      if (end.outcome === 'completed') return;
      const { jobId, index, attempt: n, target } = end;
      this.#feed(jobId)?.failed({
        index,
        attempt: n,
        target,
        error: end.error ?? 'unknown error',
        final: end.outcome === 'failed',
      });
    };
    const redistributed = ({ jobId, index, attempt: n, target, from }: EngineEvents['redistributed'][0]) =>
      this.#feed(jobId)?.redistributed({ index, attempt: n, from, to: target });
    const expired = ({ jobId }: EngineEvents['expired'][0]) => this.forget(jobId);
    const rerun = ({ jobId }: EngineEvents['rerun'][0]) => {
      const feed = this.#feed(jobId);
      if (feed !== undefined) this.#look(jobId, feed);
    };
    engine.events.on('submitted', submitted);
    engine.events.on('expired', expired);
    engine.events.on('rerun', rerun);
    engine.events.on('attempt', attempt);
    engine.events.on('redistributed', redistributed);
    this.#off = () => {
      engine.events.off('submitted', submitted);
      engine.events.off('expired', expired);
      engine.events.off('rerun', rerun);
      engine.events.off('attempt', attempt);
      engine.events.off('redistributed', redistributed);
    };
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    this.#timer.unref();
  }

  async log(jobId: string): Promise<JobEventLog | undefined> {
    const feed = this.#feed(jobId);
    if (feed !== undefined && !feed.log.ended) this.#look(jobId, feed);
    return feed?.log;
  }

  /** Drops a job's log, once the job itself is gone. */
  forget(jobId: string): void {
    this.#feeds.delete(jobId);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#off();
  }

  #feed(jobId: string): JobEventFeed | undefined {
    let feed = this.#feeds.get(jobId);
    if (feed === undefined) {
      if (this.#engine.getJob(jobId) === undefined) return undefined;
      feed = new JobEventFeed();
      this.#feeds.set(jobId, feed);
      this.#look(jobId, feed);
    }
    return feed;
  }

  #tick(): void {
    for (const [jobId, feed] of this.#feeds) if (!feed.log.ended) this.#look(jobId, feed);
  }

  #look(jobId: string, feed: JobEventFeed): void {
    const view = this.#engine.getJob(jobId);
    if (view !== undefined) feed.view(view);
  }
}
