import { emptyStats, mergeStats, type StatsData } from '../core/stats/stats.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { EngineIdempotency, KeptState } from './engine-options.ts';
import type { JobRun } from './job-run.ts';

/** The key the stats of expired jobs are kept under by a durable engine. */
const EXPIRED_STATS = 'expiredStats';

/** What a `JobExpiry` forgets a job from, and when. */
export interface JobExpiryOptions {
  /** How long a job is kept after it ends (`jobs.ttl_seconds`), in milliseconds. */
  ttlMs: number;
  /** The engine's jobs; an expired one is taken out. */
  jobs: Map<string, JobRun>;
  tasks: TaskStore;
  results: ResultStore;
  idempotency: Pick<EngineIdempotency, 'forgetJob'>;
  /** A durable engine's state: an expired job's input goes too, and the expired stats are kept. */
  kept?: Pick<KeptState, 'spool' | 'meta'>;
  /** Told each job once it has been forgotten. @default nothing */
  forgotten?: (jobId: string) => void;
  /** @default a warning on standard error */
  onError?: (jobId: string, error: unknown) => void;
  /** @default Date.now */
  now?: () => number;
}

/** How often the sweeper looks, at least and at most: a short TTL is honoured closely, a long one cheaply. */
const MIN_SWEEP_MS = 250;
const MAX_SWEEP_MS = 60_000;

const warn = (jobId: string, error: unknown): void => {
  process.stderr.write(
    `fanout: could not forget expired job ${jobId}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
};

/**
 * The embedded engine's sweeper: a job that ended is forgotten `ttlMs` later (its run, task records,
 * result file and `Idempotency-Key`), so that a server that runs for weeks holds only the jobs of the last
 * TTL. What an expired job counted is merged into `expiredStats`, so the overall stats keep it. Jobs end
 * in time order, so they wait in a queue and a sweep takes the expired ones off its front; the timer runs
 * only while a job waits, and is unref'd.
 */
export class JobExpiry {
  readonly #options: Required<Omit<JobExpiryOptions, 'kept'>>;
  readonly #kept: JobExpiryOptions['kept'];
  /** Ended jobs with the time each expires, in that order; `#head` is the first not yet forgotten. */
  #ended: { jobId: string; expiresAt: number }[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #expiredStats: StatsData;
  /** When each job waiting expires, by its latest end: a job re-run and ended again has two entries. */
  readonly #latest = new Map<string, number>();

  /** The sweeper of an engine with these options; none when they set no TTL. */
  static of(
    options: { jobTtlMs?: number; tasks: TaskStore; results: ResultStore; kept?: KeptState },
    jobs: Map<string, JobRun>,
    idempotency: JobExpiryOptions['idempotency'],
    forgotten: (jobId: string) => void,
  ): JobExpiry | undefined {
    const { jobTtlMs, tasks, results, kept } = options;
    return jobTtlMs === undefined
      ? undefined
      : new JobExpiry({
          ttlMs: jobTtlMs,
          jobs,
          tasks,
          results,
          idempotency,
          forgotten,
          ...(kept && { kept }),
        });
  }

  constructor({ kept, ...options }: JobExpiryOptions) {
    this.#options = { forgotten: () => {}, onError: warn, now: Date.now, ...options };
    this.#kept = kept;
    this.#expiredStats = kept?.meta.read<StatsData>(EXPIRED_STATS) ?? emptyStats();
  }

  /** The stats of every job forgotten so far, merged. */
  get expiredStats(): StatsData {
    return this.#expiredStats;
  }

  /** Jobs that ended and are not forgotten yet. */
  get waiting(): number {
    return this.#ended.length - this.#head;
  }

  /**
   * Notes that a job ended, now unless `at` says when (a job an earlier process ran: call in the order
   * the jobs ended, before any job that ends now); it is forgotten `ttlMs` later, unless it is re-run and
   * ends again.
   */
  ended(jobId: string, at = this.#options.now()): void {
    const expiresAt = at + this.#options.ttlMs;
    this.#ended.push({ jobId, expiresAt });
    this.#latest.set(jobId, expiresAt);
    if (this.#timer === undefined) {
      const every = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, Math.floor(this.#options.ttlMs / 4)));
      this.#timer = setInterval(() => void this.sweep(), every);
      this.#timer.unref();
    }
  }

  /** Forgets every job whose time is up, one after another; a sweep already running is waited for. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepNow().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /** Stops the timer; jobs not forgotten yet stay. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #sweepNow(): Promise<void> {
    const now = this.#options.now();
    for (;;) {
      const next = this.#ended[this.#head];
      if (next === undefined || next.expiresAt > now) break;
      this.#head++;
      await this.#forget(next.jobId, next.expiresAt).catch((error: unknown) =>
        this.#options.onError(next.jobId, error),
      );
    }
    // The forgotten front is dropped once it is as long as what is left: the queue stays within twice its use.
    if (this.#head > 0 && this.#head * 2 >= this.#ended.length) {
      this.#ended = this.#ended.slice(this.#head);
      this.#head = 0;
    }
    if (this.waiting === 0) this.stop();
  }

  async #forget(jobId: string, expiresAt: number): Promise<void> {
    const { jobs, tasks, results, idempotency } = this.#options;
    const job = jobs.get(jobId);
    // A job re-run since it ended runs again, or ended again later: its later end counts, not this one.
    const running = !job?.isFinished && job?.failure === undefined;
    if (job === undefined || running || this.#latest.get(jobId) !== expiresAt) return;
    const expiredStats = mergeStats(this.#expiredStats, job.stats.snapshot());
    try {
      // Issued together, a durable store writes these in one transaction: a crash counts the job once.
      await Promise.all([
        this.#kept?.meta.write(EXPIRED_STATS, expiredStats),
        idempotency.forgetJob(jobId),
        tasks.deleteJob(jobId),
      ]);
    } catch (error) {
      // Nothing was forgotten (a full disk, say): the job stays, and its turn comes again.
      this.ended(jobId, this.#options.now() + MIN_SWEEP_MS - this.#options.ttlMs);
      throw error;
    }
    this.#expiredStats = expiredStats;
    this.#latest.delete(jobId);
    jobs.delete(jobId);
    await results.delete(jobId);
    await this.#kept?.spool.delete(jobId);
    this.#options.forgotten(jobId);
  }
}
