import { recordedRequest } from '../core/job.ts';
import {
  allEnded,
  downTargets,
  ingestState,
  type ReconcileOptions,
  type StrandedReason,
  strandedTry,
} from '../core/reconcile.ts';
import type { HealthStore } from '../ports/health-store.ts';
import type { JobRecord, TaskStore } from '../ports/task-store.ts';
import type { Route, Router } from './router.ts';

export interface ReconcilerOptions {
  tasks: TaskStore;
  /** Where tries sent again go: the same router as every try. */
  router: Router;
  /** The shared breakers, to tell how long a target has been out. */
  health: HealthStore;
  rules: Omit<ReconcileOptions, 'intervalMs'>;
  /** The longest retry delay (`retry.max_delay_ms`): a retrying task is due no later than this. */
  maxDelayMs: number;
  /** Told of a job that could not be reconciled this run; the next run tries it again. @default ignores it */
  onError?: (error: unknown, jobId: string) => void;
  /** @default Date.now */
  now?: () => number;
}

/** What one run found and did: the counts of its metric and its log line. */
export interface ReconcileReport {
  /** Active jobs walked. */
  jobs: number;
  /** Jobs taken off the active list: everything ended, failed as a whole, or their ingest died. */
  retired: number;
  /** Jobs marked failed because their ingest stopped. */
  ingestsDied: number;
  /** Tries sent again, by why. */
  resent: Record<StrandedReason, number>;
  /** Targets whose breaker has been open at least `breakerOpenMs`. */
  down: string[];
  /** Jobs that could not be reconciled this run. */
  errors: number;
}

/**
 * Finds work that nothing will ever pick up, and sends it again. It walks the active jobs: retires those
 * with nothing left waiting, fails (then retires) those whose ingest died, and, for the rest, sends again
 * each try that no processor claimed within the deadline: a chunk of a recorded segment with no task, a
 * retry never claimed, a claim whose lease ran out. When one of a job's targets has been down for
 * `breakerOpenMs`, the deadline shrinks to that, and the tries go to the job's other targets: where an
 * unclaimed try was sent is not recorded, so every overdue one of the job goes. A try sent again is
 * flagged `resent`, so its processor claims it as a redelivery; a copy is harmless, since only one
 * delivery of a try can claim it. Each try is sent again at most once per `strandedAfterMs` per instance.
 */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #now: () => number;
  readonly #resentAt = new Map<string, number>();

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async run(): Promise<ReconcileReport> {
    const { tasks, health, rules } = this.#options;
    const now = this.#now();
    const [jobs, breakers] = await Promise.all([tasks.listActiveJobs(), health.read()]);
    const report: ReconcileReport = {
      jobs: jobs.length,
      retired: 0,
      ingestsDied: 0,
      resent: { unclaimed: 0, 'retry-lost': 0, 'lease-expired': 0 },
      down: downTargets(breakers, now, rules.breakerOpenMs),
      errors: 0,
    };
    for (const job of jobs) {
      try {
        await this.#reconcile(job, now, report);
      } catch (error) {
        report.errors++;
        this.#options.onError?.(error, job.jobId);
      }
    }
    for (const [key, at] of this.#resentAt) if (now - at >= rules.strandedAfterMs) this.#resentAt.delete(key);
    return report;
  }

  async #reconcile(job: JobRecord, now: number, report: ReconcileReport): Promise<void> {
    const { tasks, rules } = this.#options;
    const { jobId } = job;
    const ingest = ingestState(job, now, rules.ingestStalledMs);
    if (ingest.kind === 'died') {
      await tasks.failJob(jobId, ingest.reason, now);
      report.ingestsDied++;
    }
    if (ingest.kind === 'died' || ingest.kind === 'failed') return this.#retire(jobId, report);
    const recorded = await tasks.listTasks(jobId);
    if (ingest.kind === 'ingested' && allEnded(recorded, ingest.total)) return this.#retire(jobId, report);
    const request = recordedRequest(job.options);
    const down = report.down.filter((target) => request.targets.includes(target));
    const deadline = {
      afterMs: down.length > 0 ? rules.breakerOpenMs : rules.strandedAfterMs,
      maxDelayMs: this.#options.maxDelayMs,
      down,
    };
    const byIndex = new Map(recorded.map((task) => [task.index, task]));
    const routes: Route[] = [];
    const found: { key: string; reason: StrandedReason }[] = [];
    for (const segment of await tasks.listSegments(jobId)) {
      for (const [offset, chunk] of segment.chunks.entries()) {
        const index = segment.firstIndex + offset;
        const stranded = strandedTry(index, segment.sentAt, byIndex.get(index), now, deadline);
        if (stranded === undefined) continue;
        const key = `${jobId}#${index}#${stranded.attempt}`;
        if (now - (this.#resentAt.get(key) ?? Number.NEGATIVE_INFINITY) < rules.strandedAfterMs) continue;
        found.push({ key, reason: stranded.reason });
        const { previousTarget, attempt, rerunFrom } = stranded;
        routes.push({
          message: {
            jobId,
            index,
            attempt,
            routedAt: now,
            sha256: chunk.sha256,
            bytes: chunk.bytes,
            input: chunk.input,
            ...(chunk.firstLine !== undefined && { firstLine: chunk.firstLine }),
            resent: true,
            ...(previousTarget !== undefined && { previousTarget }),
            ...(rerunFrom !== undefined && { rerunFrom }),
          },
        });
      }
    }
    if (routes.length === 0) return;
    const healthy = request.targets.filter((target) => !down.includes(target));
    await this.#options.router.send(routes, {
      ...request,
      targets: healthy.length > 0 ? healthy : request.targets,
    });
    for (const { key, reason } of found) {
      this.#resentAt.set(key, now);
      report.resent[reason]++;
    }
  }

  async #retire(jobId: string, report: ReconcileReport): Promise<void> {
    await this.#options.tasks.retireJob(jobId);
    report.retired++;
  }
}
