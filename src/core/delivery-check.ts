import type { TryMessage } from './settlement.ts';
import { budgetAttempt } from './task.ts';

/** How long after its `routedAt` a delivery of a job or chunk not recorded yet is held before it is refused. */
export const DEFAULT_GRACE_MS = 60_000;

/** A chunk as its job recorded it at ingest: what a delivery of it must carry. */
export interface RecordedChunk {
  sha256: string;
  bytes: number;
  /** Where the chunk lies, on a runtime whose messages carry a ref instead of the chunk. */
  input?: string;
}

/** What the runtime knows of a delivery's job and chunk, to check the delivery against. */
export interface DeliveryFacts {
  /** The job's attempt budget (`maxAttempts`). */
  maxAttempts: number;
  /** The job's chunks, once its whole input has been split. */
  total?: number;
  /** The chunk at the delivery's index as recorded; undefined when no record holds it (yet). */
  recorded?: RecordedChunk;
}

/**
 * What to do with a delivery before anything runs: run it; hold it (`wait`: the queue hands it out again,
 * for a job or segment whose record may not be visible yet); or refuse it for good, with the reason.
 */
export type DeliveryVerdict =
  | { kind: 'run' }
  | { kind: 'wait'; reason: string }
  | { kind: 'refuse'; reason: string };

/** A delivery checked against its job: the one rule for every runtime. */
export interface DeliveryCheck {
  /** Undefined for a job the runtime does not know. */
  facts: DeliveryFacts | undefined;
  /** When the check runs, ms since the epoch. */
  now: number;
  /** How long after its `routedAt` a delivery whose job or chunk is not recorded yet is held, not refused. */
  graceMs: number;
}

/**
 * Whether a delivery belongs to its job: a known job, a try within its attempt budget, an index of one of
 * its chunks, and the digest, size and ref that chunk was recorded with. A message that fails any of these
 * was forged or is stale, and must not change a task or a count. A job or chunk with no record yet is held
 * for a grace measured from the message's `routedAt` (either side: clocks differ between clouds), since
 * its record may not be visible yet; after that it is refused too.
 */
export const checkDelivery = (
  message: TryMessage & { input?: string },
  { facts, now, graceMs }: DeliveryCheck,
): DeliveryVerdict => {
  const inGrace = Math.abs(now - message.routedAt) < graceMs;
  const unseen = (reason: string): DeliveryVerdict =>
    inGrace ? { kind: 'wait', reason } : { kind: 'refuse', reason };
  if (facts === undefined) return unseen(`job ${message.jobId} is not known`);
  const rerunFrom = message.rerunFrom ?? 0;
  if (rerunFrom >= message.attempt)
    return refuse(`try ${message.attempt} cannot re-run from try ${rerunFrom}`);
  if (budgetAttempt(message) > facts.maxAttempts)
    return refuse(`try ${message.attempt} is beyond the job's ${facts.maxAttempts} tries`);
  if (facts.total !== undefined && message.index >= facts.total)
    return refuse(`chunk ${message.index} is beyond the job's ${facts.total} chunks`);
  const { recorded } = facts;
  if (recorded === undefined) return unseen(`chunk ${message.index} is in no segment of the job`);
  if (recorded.sha256 !== message.sha256) return refuse(`chunk ${message.index} has another digest`);
  if (recorded.bytes !== message.bytes)
    return refuse(`chunk ${message.index} has ${message.bytes} bytes, not ${recorded.bytes}`);
  if (recorded.input !== undefined && recorded.input !== message.input)
    return refuse(`chunk ${message.index} names another input than its segment`);
  return { kind: 'run' };
};

const refuse = (reason: string): DeliveryVerdict => ({ kind: 'refuse', reason });
