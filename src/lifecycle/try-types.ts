import type { Outcome } from '../core/balancer.ts';
import type { DeliveryFacts } from '../core/delivery-check.ts';
import type { ErrorRecord } from '../core/errors.ts';
import type { PipelineOutput } from '../core/pipeline/pipeline.ts';
import type { RetryPolicy } from '../core/retry.ts';
import type { Settlement, TryMessage } from '../core/settlement.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';

/** A message as a runtime's queue delivered it. */
export interface Delivered<M extends TryMessage> {
  /** The queue's id for this delivery: what the runtime acknowledges, or names as a batch item failure. */
  id: string;
  message: M;
  /** True when the queue handed this message out before: its try may have ended without its follow-up. */
  redelivered: boolean;
}

/** What the lifecycle needs of a job: its id and how its failed tries are retried. */
export interface TryJob {
  jobId: string;
  retry: RetryPolicy;
}

/** A try this runtime is about to run: claimed first, or (a first delivery) recorded whole at its end. */
export interface Taken<M extends TryMessage, J extends TryJob> {
  delivery: Delivered<M>;
  job: J;
  claimId: string;
  startedAt: number;
  claimed: boolean;
}

/** A try that ran: its output, or the error it failed with. */
export type Ran<M extends TryMessage, J extends TryJob> = {
  taken: Taken<M, J>;
  durationMs: number;
  /** The worker that ran it, when only known at its end. */
  workerId?: string;
} & (({ ok: true } & PipelineOutput) | { ok: false; error: ErrorRecord });

/**
 * What became of one delivery; `retry` means the queue should hand it out again (nothing was lost),
 * `refused` that it did not belong to its job and was dead-lettered without changing anything, and
 * `cancelled` that its job was cancelled, so its task never runs again.
 */
export type DeliveryResult =
  | 'completed'
  | 'retrying'
  | 'failed'
  | 'duplicate'
  | 'refused'
  | 'cancelled'
  | 'retry';

/** Where the tries after a failed one go: each runtime's own queues. */
export interface FollowUps<M extends TryMessage, J extends TryJob> {
  /** Sends `next` (the following try) to a target other than `avoid` when one is healthy. */
  retry(job: J, next: M, delayMs: number, avoid: string | undefined): Promise<void>;
  /** Keeps a try that failed for good, or a refused delivery (of a job maybe unknown), where an operator finds it. */
  deadLetter(job: J | undefined, message: M): Promise<void>;
}

/** How one try that ran went, for its target's breaker. */
export interface HealthReport {
  outcome: Outcome;
  /** When the try was routed to the target. */
  sentAt: number;
}

/** What a runtime counts or tells as tries pass through; each is optional. */
export interface TryHooks<M extends TryMessage, J extends TryJob> {
  taken?(taken: Taken<M, J>): void;
  /** A duplicate delivery: it runs nothing. */
  dropped?(delivery: Delivered<M>, job: J): void;
  /** A delivery that does not belong to its job (see `checkDelivery`), dead-lettered before anything ran. */
  refused?(delivery: Delivered<M>, reason: string): void;
  /** A delivery whose job or chunk has no record yet: left to come back within the grace. */
  held?(delivery: Delivered<M>, reason: string): void;
  /** A delivery of a cancelled job whose task was waiting for it: the task is cancelled, nothing ran. */
  cancelled?(delivery: Delivered<M>, job: J): void;
  /** A try recorded as ended, before its follow-up is sent. */
  ended?(ran: Ran<M, J>, settlement: Settlement, endedAt: number): void;
}

export interface TryLifecycleOptions<M extends TryMessage, J extends TryJob> {
  /** The target this lifecycle runs tries on, e.g. `aws`. */
  target: string;
  /** Names the runner in each try's history. */
  workerId: string;
  tasks: TaskStore;
  results: ResultStore;
  /** How long a claim holds before a redelivery of the same try may take it over. */
  leaseMs: number;
  /** The job of a delivery; undefined for one the runtime does not know (expired, deleted, never made). */
  jobs(jobId: string): J | undefined | Promise<J | undefined>;
  /**
   * Whether the job was cancelled, read fresh for each batch: a try of a cancelled job never starts, and
   * its task is recorded cancelled instead.
   */
  cancelled(job: J): boolean | Promise<boolean>;
  /** What this runtime recorded of a delivery's chunk, which the delivery is checked against before it runs. */
  chunkFacts(job: J, message: M): ChunkFacts | Promise<ChunkFacts>;
  /**
   * How long after its `routedAt` a delivery of a job or chunk not recorded yet is left to come back
   * before it is refused.
   * @default DEFAULT_GRACE_MS (60000)
   */
  graceMs?: number;
  followUps: FollowUps<M, J>;
  /** Told each try's health in task order as soon as the tries have run, before anything is stored. */
  health(target: string, reports: readonly HealthReport[]): void | Promise<void>;
  hooks?: TryHooks<M, J>;
  /**
   * Record a first delivery's try in one conditional write at its end (`claimAndFinish`) instead of a
   * claim and a finish: one write per try is what keeps a chunk at 1 DynamoDB write unit. A duplicate
   * first delivery then runs the pipeline a second time, and its output is dropped.
   * @default false
   */
  recordFirstTryAtEnd?: boolean;
  /** @default a random UUID per delivery */
  claimId?(delivery: Delivered<M>): string;
}

/** A delivery's job and chunk as the runtime recorded them; the attempt budget comes from the job's retry policy. */
export type ChunkFacts = Omit<DeliveryFacts, 'maxAttempts'>;

/** Runs the taken tries and gives back what they did, in units whose outputs are stored together. */
export type RunTries<M extends TryMessage, J extends TryJob> = (
  taken: readonly Taken<M, J>[],
) => Promise<Ran<M, J>[][]>;
