import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';
import { z } from 'zod';
import {
  PoisonChunkError,
  TargetUnavailableError,
  TransientError,
  WorkerCrashedError,
} from '../../errors.ts';
import { defineStep, numberParam } from '../step.ts';

/**
 * A number in [0, 1) fixed by its inputs: the first 48 bits of SHA-256 over `seed:kind:parts...`.
 * Chaos decisions use it so that a run can be repeated, and a test can work out on its own which
 * chunks are poisoned: chunk i is poisoned when `chaosRoll(seed, 'poison', i) < poison`.
 */
export const chaosRoll = (seed: number, kind: string, ...parts: (string | number)[]): number => {
  const digest = createHash('sha256')
    .update([seed, kind, ...parts].join(':'))
    .digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
};

const probability = numberParam().pipe(z.number().min(0).max(1));
const milliseconds = numberParam().pipe(z.number().int().min(0));

/**
 * Fault injection for tests and demos. Every decision is a function of the seed, the chunk and the
 * attempt, never of timing, except `target` outages, which are timed from the job's start.
 */
export const chaosStep = defineStep({
  name: 'chaos',
  params: z.strictObject({
    /** Each execution throws a retryable error with this probability. */
    fail: probability.default(0),
    /** This fraction of chunks always fails with a permanent error. */
    poison: probability.default(0),
    /** Each execution on a worker thread stops the thread in mid-task with this probability. */
    crash: probability.default(0),
    /** Every execution on this target fails: an outage. */
    target: z.string().min(1).optional(),
    /** The outage starts this many ms after the job started. */
    after: milliseconds.default(0),
    /** The outage lasts this many ms; for ever when absent. */
    for: milliseconds.optional(),
    /** Each execution waits this long first. */
    delay: milliseconds.default(0),
    seed: numberParam().pipe(z.number().int()).default(0),
  }),
  create: (p) => async (input, ctx) => {
    if (p.delay > 0) await sleep(p.delay, undefined, { signal: ctx.signal });
    if (p.poison > 0 && chaosRoll(p.seed, 'poison', ctx.index) < p.poison)
      throw new PoisonChunkError(ctx.index);
    if (p.target === ctx.target) {
      const since = Date.now() - ctx.jobStartedAt;
      if (since >= p.after && (p.for === undefined || since < p.after + p.for)) {
        throw new TargetUnavailableError(ctx.target);
      }
    }
    const attemptKey = [ctx.jobId, ctx.index, ctx.attempt] as const;
    if (p.crash > 0 && chaosRoll(p.seed, 'crash', ...attemptKey) < p.crash) {
      // Off the main thread this ends only the worker, as a real crash would; on it, it would end the process.
      if (!isMainThread) process.exit(70);
      throw new WorkerCrashedError(ctx.target);
    }
    if (p.fail > 0 && chaosRoll(p.seed, 'fail', ...attemptKey) < p.fail) {
      throw new TransientError(`chaos: injected failure of chunk ${ctx.index}, attempt ${ctx.attempt}`);
    }
    return input;
  },
});
