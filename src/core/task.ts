import { TaskState } from './constants.ts';
import type { ErrorRecord } from './errors.ts';
import { FanoutError } from './errors.ts';
import type { TryMessage } from './settlement.ts';

/** Where one stored output lies. Opaque: only the result store that handed it out reads it. */
export type ResultRef = string;

/** One try of a task on a target. */
export interface Attempt {
  attempt: number;
  target: string;
  workerId: string;
  /** Identifies the claim that started this try; only its holder may end it. */
  claimId: string;
  startedAt: number;
  endedAt?: number;
  /** Time spent running the pipeline, when the worker measured it; otherwise `endedAt - startedAt`. */
  durationMs?: number;
  /** The state the task moved to when this try ended; absent while it runs. */
  outcome?: typeof TaskState.completed | typeof TaskState.retrying | typeof TaskState.failed;
  error?: ErrorRecord;
}

export interface TaskRecord {
  jobId: string;
  index: number;
  state: TaskState;
  bytes: number;
  sha256: string;
  /**
   * In `lines` mode: the line of the job's input the chunk starts on, counted from 1, where the runtime
   * records it with the task (the engine; the cloud keeps it with the chunk's segment).
   */
  firstLine?: number;
  bytesOut?: number;
  /** Where the completed task's output lies in the result store. */
  result?: ResultRef;
  /** How many of the chunk's records its `check` steps rejected, when it completed with any. */
  rejected?: number;
  /** Where those rejects lie in the result store, as NDJSON (see `RejectRecord`). */
  rejects?: ResultRef;
  attempts: Attempt[];
  /** While processing: when the claim may be taken over by a redelivery of the same try. */
  leaseExpiresAt?: number;
  /** The reason of the last failure, when the task has failed for good. */
  error?: ErrorRecord;
  /**
   * Set by a re-run of the task after it failed for good: the tries it had then. Its attempt budget counts
   * from there, and its history keeps the tries before.
   */
  rerunFrom?: number;
  updatedAt: number;
}

const TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  [TaskState.pending]: [TaskState.processing, TaskState.cancelled],
  [TaskState.processing]: [TaskState.completed, TaskState.retrying, TaskState.failed],
  [TaskState.retrying]: [TaskState.processing, TaskState.cancelled],
  [TaskState.completed]: [],
  [TaskState.failed]: [],
  [TaskState.cancelled]: [],
};

export class IllegalTransitionError extends FanoutError {
  constructor(from: TaskState, to: TaskState) {
    super(`a task cannot move from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export const canTransition = (from: TaskState, to: TaskState): boolean => TRANSITIONS[from].includes(to);

/** Whether a task has ended for good. A failed task is final too: only a re-run (`applyReopen`) moves it. */
export const isFinal = (state: TaskState): boolean =>
  // An item read half-written has no state: moto creates an item an update makes with its keys first.
  TRANSITIONS[state]?.length === 0;

export interface ClaimRequest {
  jobId: string;
  index: number;
  /** The try this delivery carries; a claim for any other try is a duplicate. */
  attempt: number;
  target: string;
  workerId: string;
  claimId: string;
  now: number;
  leaseMs: number;
  /** The chunk as ingested: what a claim of try 1 records when it creates the task. */
  bytes: number;
  sha256: string;
}

export type ClaimResult =
  | { claimed: true; task: TaskRecord }
  | { claimed: false; state: TaskState | 'missing' };

export interface FinishRequest {
  jobId: string;
  index: number;
  /** The try being ended: a store that keeps tries in a list updates this one in place. */
  attempt: number;
  claimId: string;
  outcome: NonNullable<Attempt['outcome']>;
  /** The worker that ran the try, when only known at its end. */
  workerId?: string;
  now: number;
  error?: ErrorRecord;
  bytesOut?: number;
  durationMs?: number;
  result?: ResultRef;
  rejected?: number;
  rejects?: ResultRef;
}

/** The try a successful claim starts. */
export const startedAttempt = (
  request: Pick<ClaimRequest, 'attempt' | 'target' | 'workerId' | 'claimId' | 'now'>,
): Attempt => ({
  attempt: request.attempt,
  target: request.target,
  workerId: request.workerId,
  claimId: request.claimId,
  startedAt: request.now,
});

/** The task a claim of try 1 creates when ingest recorded none (the cloud path writes no pending items). */
const newTask = (
  request: Pick<ClaimRequest, 'jobId' | 'index' | 'bytes' | 'sha256' | 'now'>,
): TaskRecord => ({
  jobId: request.jobId,
  index: request.index,
  state: TaskState.pending,
  bytes: request.bytes,
  sha256: request.sha256,
  attempts: [],
  updatedAt: request.now,
});

/** Whether the task waits for try `attempt`: pending or retrying after the tries before it. */
const waitsFor = (task: TaskRecord, attempt: number): boolean =>
  (task.state === TaskState.pending || task.state === TaskState.retrying) &&
  task.attempts.length === attempt - 1;

/** Whether try `attempt` is processing with its lease run out at `now`: the worker that took it died. */
const isAbandoned = (task: TaskRecord, attempt: number, now: number): boolean =>
  task.state === TaskState.processing &&
  task.attempts.length === attempt &&
  (task.leaseExpiresAt ?? 0) <= now;

/**
 * The claim rule every task store applies atomically: a delivery of try N claims the task when the task
 * waits for try N (pending or retrying after N-1 tries, or not recorded yet for try 1), or when try N is
 * processing but its lease ran out (its worker died). Anything else is a duplicate delivery, and claiming
 * nothing is what makes it harmless.
 */
export const applyClaim = (recorded: TaskRecord | undefined, request: ClaimRequest): ClaimResult => {
  if (recorded === undefined && request.attempt !== 1) return { claimed: false, state: 'missing' };
  const task = recorded ?? newTask(request);
  const waiting = waitsFor(task, request.attempt);
  const abandoned = isAbandoned(task, request.attempt, request.now);
  if (!waiting && !abandoned) return { claimed: false, state: task.state };
  const attempt = startedAttempt(request);
  const attempts = abandoned ? [...task.attempts.slice(0, -1), attempt] : [...task.attempts, attempt];
  return {
    claimed: true,
    task: {
      ...task,
      state: TaskState.processing,
      attempts,
      leaseExpiresAt: request.now + request.leaseMs,
      updatedAt: request.now,
    },
  };
};

/** A try as its end leaves it. */
export const endedAttempt = (started: Attempt, request: FinishRequest): Attempt => {
  const ended: Attempt = { ...started, endedAt: request.now, outcome: request.outcome };
  if (request.workerId) ended.workerId = request.workerId;
  if (request.durationMs !== undefined) ended.durationMs = request.durationMs;
  if (request.error) ended.error = request.error;
  return ended;
};

/** The finish rule: only the claim that holds the task may end its try, once. Undefined for a duplicate. */
export const applyFinish = (task: TaskRecord, request: FinishRequest): TaskRecord | undefined => {
  const current = task.attempts[task.attempts.length - 1];
  if (
    task.state !== TaskState.processing ||
    current?.claimId !== request.claimId ||
    current.attempt !== request.attempt
  ) {
    return undefined;
  }
  if (!canTransition(task.state, request.outcome))
    throw new IllegalTransitionError(task.state, request.outcome);
  const ended = endedAttempt(current, request);
  // Rest, not `delete`: deleting a property puts every finished record into V8's slow dictionary mode.
  const { leaseExpiresAt: _released, ...rest } = task;
  const next: TaskRecord = {
    ...rest,
    state: request.outcome,
    attempts: [...task.attempts.slice(0, -1), ended],
    updatedAt: request.now,
  };
  if (request.bytesOut !== undefined) next.bytesOut = request.bytesOut;
  if (request.result !== undefined) next.result = request.result;
  if (request.rejects !== undefined) {
    next.rejects = request.rejects;
    next.rejected = request.rejected ?? 0;
  }
  if (request.outcome === TaskState.failed && request.error) next.error = request.error;
  return next;
};

/**
 * A try recorded once it has ended, with no claim before it: `startedAt` is when it began and `now` when
 * it ended. What the cloud processor writes for a first delivery, so that a try costs one write.
 */
export interface ClaimAndFinishRequest
  extends Omit<ClaimRequest, 'now' | 'leaseMs'>,
    Omit<FinishRequest, 'workerId'> {
  startedAt: number;
}

/**
 * The rule of a try claimed and ended in one step: the task must wait for the try, as for a claim, and the
 * try is recorded whole. A try that another delivery holds or has ended makes this one a duplicate
 * (undefined), even when that holder's lease ran out: its own delivery comes back and takes it over.
 */
export const applyClaimAndFinish = (
  recorded: TaskRecord | undefined,
  request: ClaimAndFinishRequest,
): TaskRecord | undefined => {
  if (recorded === undefined ? request.attempt !== 1 : !waitsFor(recorded, request.attempt)) return undefined;
  const start = { ...request, now: request.startedAt };
  const task = recorded ?? newTask(start);
  const held = { ...task, state: TaskState.processing, attempts: [...task.attempts, startedAttempt(start)] };
  return applyFinish(held, request);
};

/** A delivery of try `attempt` that finds its job cancelled: the task it would have run. */
export interface CancelRequest {
  jobId: string;
  index: number;
  attempt: number;
  now: number;
  /** The chunk as ingested, for a task that has no record yet. */
  bytes: number;
  sha256: string;
}

/**
 * The cancel rule: a task that waits for try `attempt` (as for a claim) becomes cancelled, and never runs
 * again; so does one whose try `attempt` was taken and abandoned (processing, its lease run out: its
 * worker died), which loses that try, as a take-over would replace it. Anything else (running, ended, or
 * waiting for another try) is left alone. Undefined when nothing changes, which makes a second copy of
 * the delivery harmless.
 */
export const applyCancel = (
  recorded: TaskRecord | undefined,
  request: CancelRequest,
): TaskRecord | undefined => {
  if (recorded === undefined) {
    return request.attempt === 1
      ? { ...newTask(request), state: TaskState.cancelled, updatedAt: request.now }
      : undefined;
  }
  if (waitsFor(recorded, request.attempt))
    return { ...recorded, state: TaskState.cancelled, updatedAt: request.now };
  if (!isAbandoned(recorded, request.attempt, request.now)) return undefined;
  const { leaseExpiresAt: _released, ...task } = recorded;
  return {
    ...task,
    state: TaskState.cancelled,
    attempts: task.attempts.slice(0, -1),
    updatedAt: request.now,
  };
};

/**
 * The re-run rule: a task that failed for good waits again, for the try after its last, with a fresh
 * attempt budget that counts from the tries it had (`rerunFrom`). Undefined for a task in any other state.
 */
export const applyReopen = (task: TaskRecord | undefined, now: number): TaskRecord | undefined => {
  if (task?.state !== TaskState.failed) return undefined;
  const { error: _error, ...rest } = task;
  return { ...rest, state: TaskState.retrying, rerunFrom: task.attempts.length, updatedAt: now };
};

/** The try number within its attempt budget: a re-run's tries count from the tries before it. */
export const budgetAttempt = (message: { attempt: number; rerunFrom?: number }): number =>
  message.attempt - (message.rerunFrom ?? 0);

/** The try a recorded task waits for, as a message carries it. */
export type WaitedTry = Pick<TryMessage, 'attempt' | 'previousTarget' | 'rerunFrom'>;

/**
 * The try to send again for a task an earlier process recorded and did not see end: the one a waiting
 * task waits for, or the one a processing task was running (whose claim the new try takes over once its
 * lease has run out, by the claim rule). Undefined for a task that has ended: nothing of it runs again.
 */
export const waitedTry = (
  task: Pick<TaskRecord, 'state' | 'attempts' | 'rerunFrom'>,
): WaitedTry | undefined => {
  const { attempts, rerunFrom } = task;
  const next = (attempt: number): WaitedTry => {
    const previousTarget = attempts[attempt - 2]?.target;
    return {
      attempt,
      ...(previousTarget !== undefined && { previousTarget }),
      ...(rerunFrom !== undefined && { rerunFrom }),
    };
  };
  if (task.state === TaskState.pending || task.state === TaskState.retrying) return next(attempts.length + 1);
  if (task.state === TaskState.processing) return next(attempts.length);
  return undefined;
};
