import type { EventEmitter } from 'node:events';
import type { Balancer } from '../core/balancer.ts';
import { TaskState } from '../core/constants.ts';
import type { Settlement } from '../core/settlement.ts';
import type { AttemptEnd } from '../core/stats/stats.ts';
import { TryLifecycle } from '../lifecycle/try-lifecycle.ts';
import type { Ran } from '../lifecycle/try-types.ts';
import type { ResultStore } from '../ports/result-store.ts';
import type { TaskStore } from '../ports/task-store.ts';
import type { Admission } from './admission.ts';
import { VISIBILITY_MS } from './dispatch.ts';
import type { JobRun } from './job-run.ts';
import type { TaskMessage } from './messages.ts';

export interface EngineEvents {
  /** A try ended; `error` says why one that did not complete failed. */
  attempt: [AttemptEnd & { jobId: string; index: number; error?: string }];
  /** A job was taken: its view exists from now on. */
  submitted: [{ jobId: string }];
  /** A job's failed chunks were put back to run again (`Engine.retry`). */
  rerun: [{ jobId: string }];
  /** A job forgotten after its TTL (see `JobExpiry`): whatever is kept of it elsewhere can go too. */
  expired: [{ jobId: string }];
  duplicate: [{ jobId: string; target: string }];
  /** A delivery that did not belong to its job (see `checkDelivery`): nothing ran and nothing changed. */
  refused: [
    { jobId: string; index: number; attempt: number; target: string; deliveryId: string; reason: string },
  ];
  redistributed: [{ jobId: string; index: number; attempt: number; target: string; from: string }];
  /** A chunk's output, once its task has completed: a view, for a listener to use or copy at once. */
  output: [{ jobId: string; index: number; data: Uint8Array }];
}

/** What of the engine the lifecycle of its tries reaches. */
export interface EngineParts {
  tasks: TaskStore;
  results: ResultStore;
  jobs: ReadonlyMap<string, JobRun>;
  balancer: Balancer;
  admission: Admission;
  events: EventEmitter<EngineEvents>;
  /** Called after a target's health was reported: a durable engine keeps its breaker when it changed. */
  breakerReported(target: string): void;
  /** Whether each job's input is kept on disk (a durable engine): then no copy of a failed chunk is. */
  keepsInputs: boolean;
  /** Routes a try through the balancer, waiting for a breaker to half-open if every one is open. */
  send(job: JobRun, message: TaskMessage, avoid: string | undefined, delayMs: number): Promise<void>;
}

type EngineRan = Ran<TaskMessage, JobRun>;

/**
 * The try lifecycle of one engine target, with what only the engine does on the way: count each try in
 * its job's stats, tell listeners, report health to its balancer, and give a finished chunk's block back.
 */
export const targetLifecycle = (target: string, parts: EngineParts): TryLifecycle<TaskMessage, JobRun> =>
  new TryLifecycle<TaskMessage, JobRun>({
    target,
    workerId: target,
    tasks: parts.tasks,
    results: parts.results,
    leaseMs: VISIBILITY_MS,
    jobs: (jobId) => parts.jobs.get(jobId),
    cancelled: (job) => job.cancelledAt !== undefined,
    // The engine's messages never leave the process: its own task records and total are what they carry.
    chunkFacts: async (job, { jobId, index }) => {
      const task = await parts.tasks.getTask(jobId, index);
      return {
        ...(job.total !== undefined && { total: job.total }),
        ...(task !== undefined && { recorded: { sha256: task.sha256, bytes: task.bytes } }),
      };
    },
    claimId: (delivery) => `${target}:${delivery.id}`,
    followUps: {
      retry: (job, next, delayMs, avoid) => parts.send(job, next, avoid, delayMs),
      // The engine keeps a try that failed for good in its task store, where `GET /jobs/{id}/tasks` lists it.
      deadLetter: async () => {},
    },
    health: (name, reports) => {
      for (const { outcome, sentAt } of reports) parts.balancer.release(name, outcome, sentAt);
      parts.breakerReported(name);
    },
    hooks: {
      taken: ({ job, delivery: { message }, startedAt }) => {
        job.stats.attemptStarted(target, message.attempt, message.previousTarget, startedAt);
        if (message.previousTarget !== undefined && message.previousTarget !== target) {
          const { index, attempt, previousTarget: from } = message;
          parts.events.emit('redistributed', { jobId: job.jobId, index, attempt, target, from });
        }
        job.touch();
      },
      dropped: ({ message }, job) => {
        job.stats.duplicateDropped();
        parts.events.emit('duplicate', { jobId: message.jobId, target });
      },
      // Picked by the balancer when it was sent, so it counted as in flight there until now.
      cancelled: ({ message }, job) => {
        parts.balancer.release(target, 'neutral', message.routedAt);
        job.stats.taskCancelled(message.attempt === 1 ? TaskState.pending : TaskState.retrying);
        job.taskFinished(false);
        parts.admission.release(message.data);
      },
      refused: ({ id, message }, reason) => {
        parts.balancer.release(target, 'neutral', message.routedAt);
        const { jobId, index, attempt } = message;
        parts.events.emit('refused', { jobId, index, attempt, target, deliveryId: id, reason });
      },
      ended: (ran, settlement, endedAt) => ended(parts, target, ran, settlement, endedAt),
    },
  });

const ended = (
  parts: EngineParts,
  target: string,
  ran: EngineRan,
  { state }: Settlement,
  endedAt: number,
): void => {
  const { job, delivery } = ran.taken;
  const { message } = delivery;
  const end = {
    jobId: job.jobId,
    index: message.index,
    target,
    attempt: message.attempt,
    startedAt: endedAt - ran.durationMs,
    endedAt,
    durationMs: ran.durationMs,
    bytesIn: message.bytes,
    outcome: state,
    ...(ran.ok ? { bytesOut: ran.output.byteLength } : { retryable: ran.error.retryable }),
  };
  job.stats.attemptEnded(end);
  parts.events.emit('attempt', ran.ok ? end : { ...end, error: ran.error.message });
  if (state === TaskState.retrying) {
    job.touch();
    return;
  }
  job.taskFinished(state === TaskState.failed);
  if (ran.ok) parts.events.emit('output', { jobId: job.jobId, index: message.index, data: ran.output });
  // A durable engine reads a re-run's chunks from the job's kept input instead.
  else if (!parts.keepsInputs) job.deadLetters.set(message.index, message.data.slice());
  parts.admission.release(message.data);
};
