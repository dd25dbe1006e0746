import type { TaskState } from '../../core/constants.ts';
import { newestFirst, pageOf } from '../../core/job-operations.ts';
import {
  applyCancel,
  applyClaim,
  applyClaimAndFinish,
  applyFinish,
  applyReopen,
  type CancelRequest,
  type ClaimAndFinishRequest,
  type ClaimRequest,
  type ClaimResult,
  type FinishRequest,
  type TaskRecord,
} from '../../core/task.ts';
import type {
  CombinedResult,
  IngestCheckpoint,
  JobListCursor,
  JobRecord,
  SegmentRecord,
  TaskStore,
} from '../../ports/task-store.ts';

/** Tasks and jobs in this process's memory. Each call runs to completion on the event loop: atomic. */
export class MemoryTaskStore implements TaskStore {
  readonly #jobs = new Map<string, JobRecord>();
  readonly #tasks = new Map<string, TaskRecord[]>();
  /** Each job's segments by their first chunk's index. */
  readonly #segments = new Map<string, Map<number, SegmentRecord>>();
  readonly #active = new Set<string>();

  async createJob(job: JobRecord): Promise<void> {
    if (!this.#jobs.has(job.jobId)) {
      this.#jobs.set(job.jobId, { ...job });
      this.#tasks.set(job.jobId, []);
      this.#segments.set(job.jobId, new Map());
      this.#active.add(job.jobId);
    }
  }

  async setJobTotal(jobId: string, chunksTotal: number): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (job) job.chunksTotal = chunksTotal;
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const job = this.#jobs.get(jobId);
    return job && { ...job };
  }

  readonly #notified = new Set<string>();

  async claimEndNotice(jobId: string, _at: number): Promise<boolean> {
    if (!this.#jobs.has(jobId) || this.#notified.has(jobId)) return false;
    this.#notified.add(jobId);
    return true;
  }

  async setJobResult(jobId: string, combined: CombinedResult): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (job) job.combined = { ...combined };
  }

  async failJob(jobId: string, reason: string, at: number): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (job) job.failed = { reason, at };
  }

  async putTasks(tasks: readonly TaskRecord[]): Promise<void> {
    for (const task of tasks) {
      const list = this.#tasks.get(task.jobId);
      if (list === undefined) throw new RangeError(`job ${task.jobId} does not exist`);
      list[task.index] ??= task;
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const tasks = this.#tasks.get(request.jobId);
    if (tasks === undefined) return { claimed: false, state: 'missing' };
    const result = applyClaim(tasks[request.index], request);
    if (result.claimed) this.#set(result.task);
    return result;
  }

  async finish(request: FinishRequest): Promise<boolean> {
    const task = this.#tasks.get(request.jobId)?.[request.index];
    const next = task && applyFinish(task, request);
    if (next === undefined) return false;
    this.#set(next);
    return true;
  }

  async claimAndFinish(request: ClaimAndFinishRequest): Promise<boolean> {
    const tasks = this.#tasks.get(request.jobId);
    const next = tasks && applyClaimAndFinish(tasks[request.index], request);
    if (next === undefined) return false;
    this.#set(next);
    return true;
  }

  async getTask(jobId: string, index: number): Promise<TaskRecord | undefined> {
    return this.#tasks.get(jobId)?.[index];
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[]> {
    const tasks = (this.#tasks.get(jobId) ?? []).filter((task) => task !== undefined);
    return state === undefined ? tasks : tasks.filter((task) => task.state === state);
  }

  async checkpoint(jobId: string, previousSteps: number, next: IngestCheckpoint): Promise<boolean> {
    const job = this.#jobs.get(jobId);
    if (job === undefined || (job.ingest?.steps ?? 0) !== previousSteps) return false;
    job.ingest = { ...next };
    return true;
  }

  async putSegment(segment: SegmentRecord): Promise<void> {
    const segments = this.#segments.get(segment.jobId);
    if (segments === undefined) throw new RangeError(`job ${segment.jobId} does not exist`);
    segments.set(segment.firstIndex, structuredClone(segment));
  }

  async segmentOf(jobId: string, index: number): Promise<SegmentRecord | undefined> {
    let holder: SegmentRecord | undefined;
    for (const segment of this.#segments.get(jobId)?.values() ?? [])
      if (segment.firstIndex <= index && (holder === undefined || segment.firstIndex > holder.firstIndex))
        holder = segment;
    return holder && index < holder.firstIndex + holder.chunks.length ? structuredClone(holder) : undefined;
  }

  async listSegments(jobId: string): Promise<SegmentRecord[]> {
    const segments = [...(this.#segments.get(jobId)?.values() ?? [])];
    return structuredClone(segments.sort((a, b) => a.firstIndex - b.firstIndex));
  }

  async listActiveJobs(): Promise<JobRecord[]> {
    const jobs = [...this.#active].map((jobId) => ({ ...(this.#jobs.get(jobId) as JobRecord) }));
    return jobs.sort((a, b) => a.createdAt - b.createdAt);
  }

  async retireJob(jobId: string): Promise<void> {
    this.#active.delete(jobId);
  }

  async rerunJob(jobId: string, at: number): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return;
    job.rerunAt = at;
    this.#active.add(jobId);
  }

  async listJobs({ limit, after }: { limit: number; after?: JobListCursor }): Promise<JobRecord[]> {
    const jobs = [...this.#jobs.values()].sort(newestFirst);
    return pageOf(jobs, after === undefined ? { limit } : { limit, after }, (job) => ({ ...job })).items;
  }

  async cancelJob(jobId: string, at: number): Promise<JobRecord | undefined> {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return undefined;
    job.cancelledAt ??= at;
    return { ...job };
  }

  async cancelTask(request: CancelRequest): Promise<boolean> {
    const tasks = this.#tasks.get(request.jobId);
    const next = tasks && applyCancel(tasks[request.index], request);
    if (next === undefined) return false;
    this.#set(next);
    return true;
  }

  async reopenTask(jobId: string, index: number, now: number): Promise<TaskRecord | undefined> {
    const next = applyReopen(this.#tasks.get(jobId)?.[index], now);
    if (next !== undefined) this.#set(next);
    return next;
  }

  async deleteJob(jobId: string): Promise<void> {
    this.#jobs.delete(jobId);
    this.#tasks.delete(jobId);
    this.#segments.delete(jobId);
    this.#active.delete(jobId);
  }

  #set(task: TaskRecord): void {
    (this.#tasks.get(task.jobId) as TaskRecord[])[task.index] = task;
  }
}
