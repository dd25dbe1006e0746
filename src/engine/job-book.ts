import { emptyStats, mergeStats, type StatsData } from '../core/stats/stats.ts';
import type { EngineOptions } from './engine-options.ts';
import { JobExpiry, type JobExpiryOptions } from './expiry.ts';
import type { JobRun } from './job-run.ts';

/**
 * The engine's jobs: every job it knows, for its status, until it expires (`JobExpiry`), and the ones
 * not done yet, which its ingest and dispatch work for.
 */
export class JobBook {
  readonly jobs = new Map<string, JobRun>();
  readonly #unfinished = new Set<JobRun>();
  readonly #expiry: JobExpiry | undefined;
  readonly #completed: (job: JobRun) => void;

  constructor(
    options: EngineOptions,
    idempotency: JobExpiryOptions['idempotency'],
    forgotten: (jobId: string) => void,
    completed: (job: JobRun) => void,
  ) {
    this.#expiry = JobExpiry.of(options, this.jobs, idempotency, forgotten);
    this.#completed = completed;
  }

  /** Jobs not done yet. */
  get unfinished(): ReadonlySet<JobRun> {
    return this.#unfinished;
  }

  /** Adds a job; `endedAt` for one that had ended before (taken up by a restart), which expires its TTL after then. */
  add(job: JobRun, endedAt?: number): void {
    this.jobs.set(job.jobId, job);
    if (endedAt !== undefined) this.#expiry?.ended(job.jobId, endedAt);
    else this.follow(job);
  }

  /**
   * Counts a job as unfinished until it ends (again, after a re-run); it expires its TTL after that end.
   * Once its chunks have all ended, `completed` hears of it.
   */
  follow(job: JobRun): void {
    this.#unfinished.add(job);
    const ended = () => {
      this.#unfinished.delete(job);
      this.#expiry?.ended(job.jobId);
    };
    job.done.then(() => {
      ended();
      this.#completed(job);
    }, ended);
  }

  /** The stats of every job, those expired included. */
  stats(): StatsData {
    let data = this.#expiry?.expiredStats ?? emptyStats();
    for (const job of this.jobs.values()) data = mergeStats(data, job.stats.snapshot());
    return data;
  }

  /** Forgets at once the jobs whose TTL is up (those a restart took up long after they ended). */
  async sweep(): Promise<void> {
    await this.#expiry?.sweep();
  }

  stop(): void {
    this.#expiry?.stop();
  }
}
