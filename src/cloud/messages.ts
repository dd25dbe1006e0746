import { z } from 'zod';

/** One try of one chunk, as it travels through a cloud queue. The data stays in S3: `input` is its ref. */
export const ChunkMessage = z.strictObject({
  jobId: z.string().min(1),
  index: z.number().int().nonnegative(),
  attempt: z.number().int().positive(),
  /** The target that ran the previous try, when this is a retry. */
  previousTarget: z.string().min(1).optional(),
  /** On a re-run of a chunk that had failed for good: the tries before it (see `budgetAttempt`). */
  rerunFrom: z.number().int().nonnegative().optional(),
  /** When the target for this try was chosen, ms since the epoch. */
  routedAt: z.number().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  input: z.string().min(1),
  /** In `lines` mode: the line of the job's input the chunk starts on, counted from 1. */
  firstLine: z.number().int().positive().optional(),
  /**
   * Set on a try the reconciler sent again because nothing had claimed it: the processor takes it as a
   * redelivery, so it claims before it runs and may take over a try whose lease ran out.
   */
  resent: z.literal(true).optional(),
});
export type ChunkMessage = z.infer<typeof ChunkMessage>;

/** A message as a queue delivered it to a processor. */
export interface ChunkDelivery {
  /** The queue's id for this delivery: what a partial batch failure names. */
  id: string;
  message: ChunkMessage;
  /** True when the queue has handed this message out before: a try may have ended without its follow-up. */
  redelivered: boolean;
}
