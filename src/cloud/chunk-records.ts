import type { RecordedChunk } from '../core/delivery-check.ts';
import type { ChunkFacts } from '../lifecycle/try-types.ts';
import type { SegmentRecord, TaskStore } from '../ports/task-store.ts';

interface JobChunks {
  segments: SegmentRecord[];
  total?: number;
  /** The last lookup of this job: the next waits for it, so a batch reads each segment once. */
  lookup: Promise<unknown>;
}

/**
 * The chunks of each job's segments as a processor instance has read them, for checking deliveries: a
 * segment never changes once its messages are out, so it is read once per instance (one query per segment,
 * not one per message), and lookups of one job wait for each other so a batch of one segment's chunks
 * costs a single query. A job's total is cached once known; an index no segment holds is asked again.
 */
export class ChunkRecords {
  readonly #tasks: TaskStore;
  readonly #capacity: number;
  readonly #jobs = new Map<string, JobChunks>();

  /** @param capacity segments kept across jobs; the oldest job's go first. */
  constructor(tasks: TaskStore, capacity = 32) {
    this.#tasks = tasks;
    this.#capacity = capacity;
  }

  /** The job's total when known, and chunk `index` as its segment recorded it. */
  facts(jobId: string, index: number): Promise<ChunkFacts> {
    const job = this.#job(jobId);
    const cached = recordedIn(job.segments, index);
    if (cached !== undefined) return Promise.resolve({ recorded: cached });
    const lookup = job.lookup.then(() => this.#read(jobId, job, index));
    job.lookup = lookup.catch(() => {});
    return lookup;
  }

  async #read(jobId: string, job: JobChunks, index: number): Promise<ChunkFacts> {
    const cached = recordedIn(job.segments, index);
    if (cached !== undefined) return { recorded: cached };
    const segment = await this.#tasks.segmentOf(jobId, index);
    if (segment !== undefined) {
      job.segments.push(segment);
      this.#evict(job);
      return { recorded: recordedIn([segment], index) as RecordedChunk };
    }
    job.total ??= (await this.#tasks.getJob(jobId))?.chunksTotal;
    return job.total === undefined ? {} : { total: job.total };
  }

  #job(jobId: string): JobChunks {
    let job = this.#jobs.get(jobId);
    if (job === undefined) {
      job = { segments: [], lookup: Promise.resolve() };
      this.#jobs.set(jobId, job);
    }
    return job;
  }

  /** Drops the oldest other jobs' segments (a Map iterates in insertion order) until the cache fits. */
  #evict(current: JobChunks): void {
    let cached = 0;
    for (const job of this.#jobs.values()) cached += job.segments.length;
    for (const [jobId, job] of this.#jobs) {
      if (cached <= this.#capacity) return;
      if (job === current) continue;
      cached -= job.segments.length;
      this.#jobs.delete(jobId);
    }
  }
}

const recordedIn = (segments: readonly SegmentRecord[], index: number): RecordedChunk | undefined => {
  for (const segment of segments) {
    const chunk = segment.chunks[index - segment.firstIndex];
    if (index >= segment.firstIndex && chunk !== undefined) return chunk;
  }
  return undefined;
};
