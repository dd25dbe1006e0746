import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { TaskState } from '../../core/constants.ts';
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
import { type Row, SqliteJobLedger } from './sqlite-job-ledger.ts';
import type { WriteQueue } from './write-queue.ts';

const taskOf = (row: Row | undefined): TaskRecord | undefined =>
  row === undefined ? undefined : (JSON.parse(row.record as string) as TaskRecord);

/**
 * Tasks and jobs in a data directory's database, kept across restarts. Each write is one synchronous
 * read-modify-write in the write queue: it reads the row, applies the rule of `core/task.ts`
 * (`applyClaim`, `applyFinish`, ...) as the memory store does, and writes the row back, with nothing
 * else running on the connection in between. That makes every conditional write atomic, and the rules
 * stay in one place. Reads run at once (see `WriteQueue` for what they see).
 */
export class SqliteTaskStore implements TaskStore {
  readonly #db: DatabaseSync;
  readonly #queue: WriteQueue;
  readonly #jobs: SqliteJobLedger;
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #upsert: StatementSync;
  readonly #all: StatementSync;
  readonly #inState: StatementSync;
  readonly #processing: StatementSync;
  readonly #delete: StatementSync;

  constructor(db: DatabaseSync, queue: WriteQueue) {
    this.#db = db;
    this.#queue = queue;
    this.#jobs = new SqliteJobLedger(db);
    this.#select = db.prepare('SELECT record FROM tasks WHERE job_id = ? AND idx = ?');
    this.#insert = db.prepare(
      `INSERT INTO tasks (job_id, idx, state, record) VALUES (?, ?, ?, ?)
       ON CONFLICT (job_id, idx) DO NOTHING`,
    );
    this.#upsert = db.prepare(
      `INSERT INTO tasks (job_id, idx, state, record) VALUES (?, ?, ?, ?)
       ON CONFLICT (job_id, idx) DO UPDATE SET state = excluded.state, record = excluded.record`,
    );
    this.#all = db.prepare('SELECT record FROM tasks WHERE job_id = ? ORDER BY idx');
    this.#inState = db.prepare('SELECT record FROM tasks WHERE job_id = ? AND state = ? ORDER BY idx');
    this.#processing = db.prepare(`SELECT record FROM tasks WHERE state = '${TaskState.processing}'`);
    this.#delete = db.prepare('DELETE FROM tasks WHERE job_id = ?');
  }

  async createJob(job: JobRecord): Promise<void> {
    await this.#queue.enqueue(() => this.#jobs.create(job));
  }

  async setJobTotal(jobId: string, chunksTotal: number): Promise<void> {
    await this.#queue.enqueue(() =>
      this.#jobs.change(jobId, (job) => {
        job.chunksTotal = chunksTotal;
      }),
    );
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    return this.#jobs.get(jobId);
  }

  claimEndNotice(jobId: string, _at: number): Promise<boolean> {
    return this.#queue.enqueue(() => this.#jobs.claimEndNotice(jobId));
  }

  async setJobResult(jobId: string, combined: CombinedResult): Promise<void> {
    await this.#queue.enqueue(() =>
      this.#jobs.change(jobId, (job) => {
        job.combined = { ...combined };
      }),
    );
  }

  async failJob(jobId: string, reason: string, at: number): Promise<void> {
    await this.#queue.enqueue(() =>
      this.#jobs.change(jobId, (job) => {
        job.failed = { reason, at };
      }),
    );
  }

  /** Records new tasks as pending, all or none: a task of a job that does not exist fails the whole call. */
  putTasks(tasks: readonly TaskRecord[]): Promise<void> {
    return this.#queue.enqueue(() => {
      let known: string | undefined;
      for (const task of tasks) {
        if (task.jobId !== known) {
          if (!this.#jobs.exists(task.jobId)) throw new RangeError(`job ${task.jobId} does not exist`);
          known = task.jobId;
        }
        this.#insert.run(task.jobId, task.index, task.state, JSON.stringify(task));
      }
    });
  }

  claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.#queue.enqueue((): ClaimResult => {
      const recorded = this.#task(request.jobId, request.index);
      if (recorded === undefined && !this.#jobs.exists(request.jobId))
        return { claimed: false, state: 'missing' };
      const result = applyClaim(recorded, request);
      if (result.claimed) this.#set(result.task);
      return result;
    });
  }

  finish(request: FinishRequest): Promise<boolean> {
    return this.#queue.enqueue(() => {
      const task = this.#task(request.jobId, request.index);
      return this.#setIfChanged(task && applyFinish(task, request));
    });
  }

  claimAndFinish(request: ClaimAndFinishRequest): Promise<boolean> {
    return this.#queue.enqueue(() => {
      const recorded = this.#task(request.jobId, request.index);
      if (recorded === undefined && !this.#jobs.exists(request.jobId)) return false;
      return this.#setIfChanged(applyClaimAndFinish(recorded, request));
    });
  }

  async getTask(jobId: string, index: number): Promise<TaskRecord | undefined> {
    return this.#task(jobId, index);
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[]> {
    const rows = state === undefined ? this.#all.all(jobId) : this.#inState.all(jobId, state);
    return rows.map((row) => taskOf(row) as TaskRecord);
  }

  checkpoint(jobId: string, previousSteps: number, next: IngestCheckpoint): Promise<boolean> {
    return this.#queue.enqueue(() => this.#jobs.checkpoint(jobId, previousSteps, next));
  }

  putSegment(segment: SegmentRecord): Promise<void> {
    return this.#queue.enqueue(() => this.#jobs.putSegment(segment));
  }

  async segmentOf(jobId: string, index: number): Promise<SegmentRecord | undefined> {
    return this.#jobs.segmentOf(jobId, index);
  }

  async listSegments(jobId: string): Promise<SegmentRecord[]> {
    return this.#jobs.listSegments(jobId);
  }

  async listActiveJobs(): Promise<JobRecord[]> {
    return this.#jobs.listActive();
  }

  retireJob(jobId: string): Promise<void> {
    return this.#queue.enqueue(() => this.#jobs.setActive(jobId, false));
  }

  async rerunJob(jobId: string, at: number): Promise<void> {
    await this.#queue.enqueue(() => {
      const job = this.#jobs.change(jobId, (found) => {
        found.rerunAt = at;
      });
      if (job !== undefined) this.#jobs.setActive(jobId, true);
    });
  }

  async listJobs(page: { limit: number; after?: JobListCursor }): Promise<JobRecord[]> {
    return this.#jobs.listJobs(page);
  }

  cancelJob(jobId: string, at: number): Promise<JobRecord | undefined> {
    return this.#queue.enqueue(() => {
      const job = this.#jobs.get(jobId);
      if (job === undefined || job.cancelledAt !== undefined) return job;
      return this.#jobs.change(jobId, (found) => {
        found.cancelledAt = at;
      });
    });
  }

  cancelTask(request: CancelRequest): Promise<boolean> {
    return this.#queue.enqueue(() => {
      const recorded = this.#task(request.jobId, request.index);
      if (recorded === undefined && !this.#jobs.exists(request.jobId)) return false;
      return this.#setIfChanged(applyCancel(recorded, request));
    });
  }

  reopenTask(jobId: string, index: number, now: number): Promise<TaskRecord | undefined> {
    return this.#queue.enqueue(() => {
      const next = applyReopen(this.#task(jobId, index), now);
      if (next !== undefined) this.#set(next);
      return next;
    });
  }

  /**
   * Deletes the job's rows, then gives the pages they held back to the file system
   * (`incremental_vacuum`, the database being in auto-vacuum INCREMENTAL mode): a server that expires
   * jobs for months keeps a file the size of the jobs it still holds.
   */
  deleteJob(jobId: string): Promise<void> {
    return this.#queue.enqueue(() => {
      this.#jobs.delete(jobId);
      this.#delete.run(jobId);
      this.#db.exec('PRAGMA incremental_vacuum');
    });
  }

  /**
   * Ends the lease of every try that is processing, at `now`; how many. For a process that has just taken
   * the database's lock: whoever took those leases is gone, and the claim rule lets their redelivery take
   * the try over once its lease has run out.
   */
  releaseLeases(now: number): Promise<number> {
    return this.#queue.enqueue(() => {
      const held = this.#processing.all().map((row) => taskOf(row) as TaskRecord);
      for (const task of held) this.#set({ ...task, leaseExpiresAt: now });
      return held.length;
    });
  }

  #task(jobId: string, index: number): TaskRecord | undefined {
    return taskOf(this.#select.get(jobId, index));
  }

  #set(task: TaskRecord): void {
    this.#upsert.run(task.jobId, task.index, task.state, JSON.stringify(task));
  }

  /** Writes the task a rule returned; false, writing nothing, when the rule changed nothing. */
  #setIfChanged(next: TaskRecord | undefined): boolean {
    if (next === undefined) return false;
    this.#set(next);
    return true;
  }
}
