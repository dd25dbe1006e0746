import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { newestFirst, pageOf } from '../../core/job-operations.ts';
import type { IngestCheckpoint, JobListCursor, JobRecord, SegmentRecord } from '../../ports/task-store.ts';

/** One row as `node:sqlite` hands it out. */
export type Row = Record<string, unknown>;

const recordOf = <T>(row: Row | undefined): T | undefined =>
  row === undefined ? undefined : (JSON.parse(row.record as string) as T);

/**
 * The job side of `SqliteTaskStore`: each job's record (with its ingest checkpoint), its segments, whether
 * it is still active and whether its end notice went out. Every method is synchronous and changes what it
 * read before anything else runs on the connection; `SqliteTaskStore` runs the writing ones in its write
 * queue, so each is one atomic step of a grouped transaction.
 */
export class SqliteJobLedger {
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;
  readonly #setActive: StatementSync;
  readonly #notify: StatementSync;
  readonly #active: StatementSync;
  readonly #cursors: StatementSync;
  readonly #delete: StatementSync;
  readonly #putSegment: StatementSync;
  readonly #holder: StatementSync;
  readonly #segments: StatementSync;
  readonly #deleteSegments: StatementSync;

  constructor(db: DatabaseSync) {
    this.#select = db.prepare('SELECT record FROM jobs WHERE job_id = ?');
    this.#insert = db.prepare(
      `INSERT INTO jobs (job_id, created_at, active, notified, record) VALUES (?, ?, 1, 0, ?)
       ON CONFLICT (job_id) DO NOTHING`,
    );
    this.#update = db.prepare('UPDATE jobs SET record = ? WHERE job_id = ?');
    this.#setActive = db.prepare('UPDATE jobs SET active = ? WHERE job_id = ?');
    this.#notify = db.prepare('UPDATE jobs SET notified = 1 WHERE job_id = ? AND notified = 0');
    this.#active = db.prepare('SELECT record FROM jobs WHERE active = 1 ORDER BY created_at, job_id');
    this.#cursors = db.prepare('SELECT created_at, job_id FROM jobs');
    this.#delete = db.prepare('DELETE FROM jobs WHERE job_id = ?');
    this.#putSegment = db.prepare(
      `INSERT INTO segments (job_id, first_index, record) VALUES (?, ?, ?)
       ON CONFLICT (job_id, first_index) DO UPDATE SET record = excluded.record`,
    );
    // The segment that starts at or before the index; whether it reaches the index is for the caller.
    this.#holder = db.prepare(
      `SELECT record FROM segments WHERE job_id = ? AND first_index <= ?
       ORDER BY first_index DESC LIMIT 1`,
    );
    this.#segments = db.prepare('SELECT record FROM segments WHERE job_id = ? ORDER BY first_index');
    this.#deleteSegments = db.prepare('DELETE FROM segments WHERE job_id = ?');
  }

  get(jobId: string): JobRecord | undefined {
    return recordOf<JobRecord>(this.#select.get(jobId));
  }

  exists(jobId: string): boolean {
    return this.#select.get(jobId) !== undefined;
  }

  /** Records a new job, active; a job id that exists keeps its first job. */
  create(job: JobRecord): void {
    this.#insert.run(job.jobId, job.createdAt, JSON.stringify(job));
  }

  /** Reads a job, lets `change` alter it, and writes it back; undefined (nothing written) for no job. */
  change(jobId: string, change: (job: JobRecord) => void): JobRecord | undefined {
    const job = this.get(jobId);
    if (job === undefined) return undefined;
    change(job);
    this.#update.run(JSON.stringify(job), jobId);
    return job;
  }

  claimEndNotice(jobId: string): boolean {
    return Number(this.#notify.run(jobId).changes) === 1;
  }

  checkpoint(jobId: string, previousSteps: number, next: IngestCheckpoint): boolean {
    const job = this.get(jobId);
    if (job === undefined || (job.ingest?.steps ?? 0) !== previousSteps) return false;
    job.ingest = { ...next };
    this.#update.run(JSON.stringify(job), jobId);
    return true;
  }

  setActive(jobId: string, active: boolean): void {
    this.#setActive.run(active ? 1 : 0, jobId);
  }

  listActive(): JobRecord[] {
    return this.#active.all().map((row) => recordOf<JobRecord>(row) as JobRecord);
  }

  /**
   * A page of jobs, in the order and by the paging rule of `core/job-operations.ts`: only the two columns
   * that order jobs are read for all of them, and a record only for each job on the page.
   */
  listJobs(page: { limit: number; after?: JobListCursor }): JobRecord[] {
    const cursors: JobListCursor[] = this.#cursors
      .all()
      .map((row) => ({ createdAt: Number(row.created_at), jobId: String(row.job_id) }));
    return pageOf(cursors.sort(newestFirst), page, (cursor) => this.get(cursor.jobId)).items;
  }

  putSegment(segment: SegmentRecord): void {
    if (!this.exists(segment.jobId)) throw new RangeError(`job ${segment.jobId} does not exist`);
    this.#putSegment.run(segment.jobId, segment.firstIndex, JSON.stringify(segment));
  }

  segmentOf(jobId: string, index: number): SegmentRecord | undefined {
    const holder = recordOf<SegmentRecord>(this.#holder.get(jobId, index));
    return holder && index < holder.firstIndex + holder.chunks.length ? holder : undefined;
  }

  listSegments(jobId: string): SegmentRecord[] {
    return this.#segments.all(jobId).map((row) => recordOf<SegmentRecord>(row) as SegmentRecord);
  }

  /** Deletes a job's record, its notice and active flags with it, and its segments. */
  delete(jobId: string): void {
    this.#delete.run(jobId);
    this.#deleteSegments.run(jobId);
  }
}
