import { z } from 'zod';
import { type Chunk, chunkStream, countLines } from '../core/chunker.ts';
import { MiB } from '../core/constants.ts';
import { TargetUnavailableError } from '../core/errors.ts';
import { recordedRequest } from '../core/job.ts';
import type { InputStore } from '../ports/input-store.ts';
import type { Queue } from '../ports/queue.ts';
import type { IngestCheckpoint, JobRecord, TaskStore } from '../ports/task-store.ts';
import type { Router } from './router.ts';

/** A job whose input is to be split and enqueued from its checkpoint on. */
export const IngestStepMessage = z.strictObject({ jobId: z.string().min(1) });
export type IngestStepMessage = z.infer<typeof IngestStepMessage>;

/**
 * How a step ended: the input read whole (`ended`), the rest handed to the next step (`handed-over`),
 * another step moved the checkpoint first (`fenced`), nothing left to do (`idle`: the job is unknown,
 * failed or ingested), or the job failed as no target took its chunks (`failed`).
 */
export type IngestStepOutcome = 'ended' | 'handed-over' | 'fenced' | 'idle' | 'failed';

/**
 * Chunks in one segment at most, whatever their size: a segment's record is one DynamoDB item (at most
 * 400 KB), and a chunk takes about 120 bytes of it.
 */
export const MAX_SEGMENT_CHUNKS = 1000;

/** Time a step keeps in hand beyond twice its slowest segment, to send the next step and end. */
const MARGIN_MS = 1000;

export interface IngestStepsOptions {
  tasks: TaskStore;
  inputs: InputStore;
  router: Router;
  /** Where the next step goes when this one stops before the input's end. */
  steps: Queue<IngestStepMessage>;
  /**
   * Bytes of chunks packed into one segment (the unit a step writes, sends and checkpoints), which holds
   * at most `MAX_SEGMENT_CHUNKS` chunks.
   * @default 8 MiB
   */
  segmentBytes?: number;
}

/** An error's message and its causes', as a failed job's reason. */
export const reasonOf = (error: unknown): string => {
  const messages: string[] = [];
  for (let e: unknown = error; e !== undefined && messages.length < 3; e = (e as Error).cause)
    messages.push(e instanceof Error ? e.message : String(e));
  return messages.join(': ');
};

/**
 * Splitting and enqueueing a job's input in steps, each within a function's time. A step reads the job's
 * checkpoint, opens the input at its offset and cuts chunks from there (the same chunks one pass would
 * cut: `chunkStream`), and per segment: writes the segment's object (named by its number, so a re-run
 * overwrites it), records the segment, sends its chunks' messages, then moves the checkpoint, fenced by
 * its step count. Once too little time is left for another segment it sends the next step and ends. A
 * step that dies is handed out again by its queue and resumes from the last checkpoint: only the segment
 * in flight runs again, and only a death between its send and its checkpoint sends its messages twice,
 * which the claim rule makes harmless. At the end it checkpoints once more, records the total and deletes
 * a stored body.
 */
export class IngestSteps {
  readonly #options: IngestStepsOptions;

  constructor(options: IngestStepsOptions) {
    this.#options = options;
  }

  /** Sends a job's first step; `createJob` has recorded its first checkpoint. */
  async begin(jobId: string): Promise<void> {
    await this.#options.steps.send([{ body: { jobId } }]);
  }

  /** One step of job `jobId`, until its input ends or `remainingMs()` leaves too little for a segment. */
  async run(jobId: string, remainingMs: () => number): Promise<IngestStepOutcome> {
    const { tasks, inputs } = this.#options;
    const job = await tasks.getJob(jobId);
    if (job?.ingest === undefined || job.failed !== undefined || job.chunksTotal !== undefined) return 'idle';
    if (job.cancelledAt !== undefined) return this.#end(jobId, job.ingest);
    const request = recordedRequest(job.options);
    const limit = this.#options.segmentBytes ?? 8 * MiB;
    let at = job.ingest;
    let slowestMs = 0;
    const input = await inputs.open(at.source, at.offset);
    let segment: Chunk[] = [];
    let bytes = 0;
    try {
      for await (const chunk of chunkStream(input, jobId, request.chunking, {
        index: at.chunks,
        line: at.lines ?? 1,
      })) {
        segment.push(chunk);
        bytes += chunk.bytes;
        if (bytes < limit && segment.length < MAX_SEGMENT_CHUNKS) continue;
        // A cancelled job reads no more: its total is what was sent.
        if ((await tasks.getJob(jobId))?.cancelledAt !== undefined) return this.#end(jobId, at);
        const started = Date.now();
        const next = await this.#segment(job, at, segment);
        if (next === undefined) return 'fenced';
        at = next;
        segment = [];
        bytes = 0;
        slowestMs = Math.max(slowestMs, Date.now() - started);
        if (remainingMs() < 2 * slowestMs + MARGIN_MS) {
          await this.#options.steps.send([{ body: { jobId } }]);
          return 'handed-over';
        }
      }
      if (segment.length > 0) {
        const next = await this.#segment(job, at, segment);
        if (next === undefined) return 'fenced';
        at = next;
      }
    } catch (error) {
      if (!(error instanceof TargetUnavailableError)) throw error;
      const reason = `its input stopped after ${at.chunks} chunks were sent: ${reasonOf(error)}`;
      await tasks.failJob(jobId, reason, Date.now());
      return 'failed';
    }
    return this.#end(jobId, at);
  }

  /** Records the total of chunks sent up to `at` and deletes a stored body: the input is done with. */
  async #end(jobId: string, at: IngestCheckpoint): Promise<IngestStepOutcome> {
    const { tasks, inputs } = this.#options;
    // The checkpoint first: a step that dies before the total is recorded is run again, finds the input
    // read to its end, and records the total then.
    if (!(await tasks.checkpoint(jobId, at.steps, { ...at, steps: at.steps + 1, updatedAt: Date.now() })))
      return 'fenced';
    await tasks.setJobTotal(jobId, at.chunks);
    await inputs.deleteBody(at.source);
    return 'ended';
  }

  /** Writes, records and sends one segment, then moves the checkpoint past it; undefined when fenced. */
  async #segment(
    job: JobRecord,
    at: IngestCheckpoint,
    chunks: readonly Chunk[],
  ): Promise<IngestCheckpoint | undefined> {
    const { tasks, inputs, router } = this.#options;
    const { jobId } = job;
    const request = recordedRequest(job.options);
    const refs = await inputs.putSegment(
      jobId,
      at.segments,
      chunks.map((chunk) => chunk.data),
    );
    await tasks.putSegment({
      jobId,
      segment: at.segments,
      firstIndex: at.chunks,
      sentAt: Date.now(),
      chunks: chunks.map((chunk, i) => ({
        sha256: chunk.sha256,
        bytes: chunk.bytes,
        input: refs[i] as string,
        ...(chunk.firstLine !== undefined && { firstLine: chunk.firstLine }),
      })),
    });
    await router.send(
      chunks.map((chunk, i) => ({
        message: {
          jobId,
          index: chunk.index,
          attempt: 1,
          routedAt: 0,
          sha256: chunk.sha256,
          bytes: chunk.bytes,
          input: refs[i] as string,
          ...(chunk.firstLine !== undefined && { firstLine: chunk.firstLine }),
        },
      })),
      request,
    );
    const last = chunks.at(-1) as Chunk;
    const next: IngestCheckpoint = {
      source: at.source,
      offset: at.offset + chunks.reduce((sum, chunk) => sum + chunk.bytes, 0),
      chunks: at.chunks + chunks.length,
      ...(last.firstLine !== undefined && { lines: last.firstLine + countLines(last.data) }),
      segments: at.segments + 1,
      steps: at.steps + 1,
      updatedAt: Date.now(),
    };
    return (await tasks.checkpoint(jobId, at.steps, next)) ? next : undefined;
  }
}
