import type { ApiResponse } from '../util/http.ts';
import { type SseMessage, sseResponse } from '../util/sse.ts';
import type { JobView } from './job.ts';
import { KEEP_ALIVE_MS } from './job-event-stream.ts';
import type { TargetView } from './stats/targets.ts';

/** What `GET /events` streams. */
export const ServiceEventType = {
  snapshot: 'snapshot',
  job: 'job',
  removed: 'removed',
  targets: 'targets',
} as const;

/** The jobs `GET /events` follows: the newest, as many as one `GET /jobs` page holds at most. */
export const FOLLOWED_JOBS = 1000;

/** How a runtime reads what `GET /events` follows. */
export interface ServiceReaders {
  /** The newest `FOLLOWED_JOBS` jobs, newest first. */
  listJobs(): Promise<JobView[]>;
  /** Every configured target, as `GET /targets` shows it. */
  readTargets(): Promise<Record<string, TargetView>>;
}

export interface ServiceEventsOptions {
  /** How often the readers are polled while a client is connected. */
  intervalMs: number;
  /**
   * The least time between two reads of the targets, whose figures move with every try.
   * @default 1000
   */
  targetsEveryMs?: number;
  /** @default KEEP_ALIVE_MS */
  idleMs?: number;
  /** Told when a poll fails; the next poll tries again. @default ignores it */
  onError?: (error: unknown) => void;
}

/** What a client waits for: a job's view counts as changed when any of these moved. */
const changeOf = (view: JobView): string => {
  const { status, chunksTotal, chunksCompleted, chunksFailed, chunksCancelled, updatedAt } = view;
  return JSON.stringify([status, chunksTotal, chunksCompleted, chunksFailed, chunksCancelled, updatedAt]);
};

/** One connected client: the events not yet sent, and how to wake it. */
class Client {
  readonly pending: SseMessage[] = [];
  #wake: (() => void) | undefined;

  push(message: SseMessage): void {
    this.pending.push(message);
    this.#wake?.();
  }

  /** Resolves when a message comes, or after `idleMs` without one. */
  wait(idleMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), idleMs);
      timer.unref?.();
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  close(): void {
    this.#wake?.();
  }
}

/**
 * `GET /events` on a runtime that streams: a snapshot of the newest jobs and the targets, then what
 * changed, found by polling the readers and comparing with what the poll before saw. One poll serves
 * every client, and it runs only while one is connected. A job that leaves the newest jobs (it expired,
 * or newer ones pushed it out) is `removed`.
 */
export class ServiceEvents {
  readonly #readers: ServiceReaders;
  readonly #options: Required<Omit<ServiceEventsOptions, 'onError'>> & Pick<ServiceEventsOptions, 'onError'>;
  readonly #clients = new Set<Client>();
  #jobs = new Map<string, string>();
  #order: JobView[] = [];
  #targets: Record<string, TargetView> = {};
  #targetsText = '';
  #targetsAt = Number.NEGATIVE_INFINITY;
  /** Polls run one after another: each compares with what the one before saw. */
  #polling: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(readers: ServiceReaders, options: ServiceEventsOptions) {
    this.#readers = readers;
    this.#options = { targetsEveryMs: 1000, idleMs: KEEP_ALIVE_MS, ...options };
  }

  /** The stream of one client. */
  stream(): ApiResponse {
    return sseResponse(this.#follow());
  }

  /** Ends every stream and stops polling. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const client of this.#clients) client.close();
  }

  async *#follow(): AsyncGenerator<SseMessage | null> {
    const client = new Client();
    // The snapshot is what the shared poll saw, so the changes it finds next are changes for this client too.
    await this.#enqueuePoll(true, () => {
      const snapshot = { jobs: this.#order, targets: this.#targets };
      client.push({ type: ServiceEventType.snapshot, data: snapshot });
      this.#clients.add(client);
    });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#enqueuePoll(false), this.#options.intervalMs);
      this.#timer.unref?.();
    }
    try {
      while (!this.#closed) {
        const message = client.pending.shift();
        if (message !== undefined) {
          yield message;
          continue;
        }
        await client.wait(this.#options.idleMs);
        if (client.pending.length === 0 && !this.#closed) yield null;
      }
    } finally {
      this.#clients.delete(client);
      if (this.#clients.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    }
  }

  #enqueuePoll(fresh: boolean, then?: () => void): Promise<void> {
    this.#polling = this.#polling.then(async () => {
      try {
        await this.#poll(fresh);
      } catch (error) {
        this.#options.onError?.(error);
      }
      then?.();
    });
    return this.#polling;
  }

  /** Reads the jobs (and the targets, when due or `fresh`) and tells every client what changed. */
  async #poll(fresh: boolean): Promise<void> {
    const targetsDue = fresh || Date.now() - this.#targetsAt >= this.#options.targetsEveryMs;
    const [jobs, targets] = await Promise.all([
      this.#readers.listJobs(),
      targetsDue ? this.#readers.readTargets() : undefined,
    ]);
    const seen = new Map(jobs.map((view) => [view.jobId, changeOf(view)]));
    for (const jobId of this.#jobs.keys()) {
      if (!seen.has(jobId)) this.#send({ type: ServiceEventType.removed, data: { jobId } });
    }
    for (const view of jobs.toReversed()) {
      if (this.#jobs.get(view.jobId) !== seen.get(view.jobId))
        this.#send({ type: ServiceEventType.job, data: view });
    }
    this.#jobs = seen;
    this.#order = jobs;
    if (targets === undefined) return;
    this.#targetsAt = Date.now();
    const text = JSON.stringify(targets);
    if (text !== this.#targetsText) this.#send({ type: ServiceEventType.targets, data: { targets } });
    this.#targetsText = text;
    this.#targets = targets;
  }

  #send(message: SseMessage): void {
    for (const client of this.#clients) client.push(message);
  }
}
