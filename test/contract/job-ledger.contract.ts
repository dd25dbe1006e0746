import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IngestCheckpoint, SegmentRecord } from '../../src/ports/task-store.ts';
import { freshSubjectPerTest } from './fresh-subject.ts';
import type { TaskStoreUnderTest } from './task-store.contract.ts';

const T0 = 1_700_000_000_000;

const checkpointAt = (steps: number, chunks: number): IngestCheckpoint => ({
  source: 's3://bucket/inputs/body',
  offset: chunks * 100,
  chunks,
  segments: steps,
  steps,
  updatedAt: T0 + steps,
});

const segment = (jobId: string, number: number, firstIndex: number, size: number): SegmentRecord => ({
  jobId,
  segment: number,
  firstIndex,
  sentAt: T0 + number,
  chunks: Array.from({ length: size }, (_, i) => ({
    sha256: `${firstIndex + i}`.padStart(64, '0'),
    bytes: 100 + i,
    input: `inputs/${jobId}/${number}#${i}`,
  })),
});

/**
 * What every `TaskStore` keeps of a job besides its tasks: the ingest checkpoint, fenced by its step
 * count; the segments, found by any chunk they hold; and the list of active jobs.
 */
export const describeJobLedgerContract = (
  name: string,
  makeStore: () => Promise<TaskStoreUnderTest>,
): void => {
  describe(`${name} keeps a job's ledger`, () => {
    let subject: TaskStoreUnderTest;
    freshSubjectPerTest(makeStore, (made) => {
      subject = made;
    });

    const newJob = async (createdAt = T0): Promise<string> => {
      const jobId = randomUUID();
      await subject.store.createJob({ jobId, createdAt, options: {} });
      return jobId;
    };

    it("lets one claim of a job's end notice through, and none of an unknown job", async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();

      // Act
      const claims = await Promise.all([1, 2, 3].map((n) => store.claimEndNotice(jobId, T0 + n)));
      const unknown = await store.claimEndNotice(randomUUID(), T0);

      // Assess
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(unknown).toBe(false);
    });

    it('moves a checkpoint only from the step count it was read at', async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();

      // Act
      const first = await store.checkpoint(jobId, 0, checkpointAt(1, 8));
      const stale = await store.checkpoint(jobId, 0, checkpointAt(1, 9));
      const second = await store.checkpoint(jobId, 1, checkpointAt(2, 16));

      // Assess
      expect([first, stale, second]).toEqual([true, false, true]);
      expect((await store.getJob(jobId))?.ingest).toEqual(checkpointAt(2, 16));
    });

    it('moves no checkpoint of a job it does not know', async () => {
      // Act
      const moved = await subject.store.checkpoint(randomUUID(), 0, checkpointAt(1, 8));

      // Assess
      expect(moved).toBe(false);
    });

    it("keeps the last record of a job's combined result, and none for a job it does not know", async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();
      const unknown = randomUUID();

      // Act
      await store.setJobResult(jobId, { ref: 'results/a:0:10', at: T0 + 1 });
      await store.setJobResult(jobId, { ref: 'results/b:0:12', at: T0 + 2 });
      await store.setJobResult(unknown, { ref: 'results/c:0:1', at: T0 });

      // Assess
      expect((await store.getJob(jobId))?.combined).toEqual({ ref: 'results/b:0:12', at: T0 + 2 });
      expect(await store.getJob(unknown)).toBeUndefined();
    });

    it('keeps the line each chunk of a segment starts on', async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();
      const lined = segment(jobId, 0, 0, 2);
      lined.chunks = lined.chunks.map((chunk, i) => ({ ...chunk, firstLine: 1 + 40 * i }));

      // Act
      await store.putSegment(lined);

      // Assess
      expect((await store.segmentOf(jobId, 1))?.chunks.map((chunk) => chunk.firstLine)).toEqual([1, 41]);
    });

    it('finds the segment that holds a chunk, and none past the last one', async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();
      await store.putSegment(segment(jobId, 0, 0, 3));
      await store.putSegment(segment(jobId, 1, 3, 2));

      // Act
      const found = await Promise.all([0, 2, 3, 4, 5, 999].map((index) => store.segmentOf(jobId, index)));

      // Assess
      expect(found.map((s) => s?.segment)).toEqual([0, 0, 1, 1, undefined, undefined]);
      expect(found[1]?.chunks[2]).toEqual(segment(jobId, 0, 0, 3).chunks[2]);
      expect(await store.segmentOf(randomUUID(), 0)).toBeUndefined();
    });

    it('lists segments in index order, a segment written twice once', async () => {
      // Prepare
      const { store } = subject;
      const jobId = await newJob();
      await store.putSegment(segment(jobId, 1, 2, 2));
      await store.putSegment(segment(jobId, 0, 0, 2));
      await store.putSegment(segment(jobId, 1, 2, 2));

      // Act
      const segments = await store.listSegments(jobId);

      // Assess
      expect(segments).toEqual([segment(jobId, 0, 0, 2), segment(jobId, 1, 2, 2)]);
    });

    it('lists the jobs it created oldest first, until they are retired', async () => {
      // Prepare
      const { store } = subject;
      const later = await newJob(T0 + 10);
      const earlier = await newJob(T0);
      const before = (await store.listActiveJobs()).map((job) => job.jobId);

      // Act
      await store.retireJob(earlier);
      const after = (await store.listActiveJobs()).map((job) => job.jobId);

      // Assess
      expect(before.filter((id) => id === earlier || id === later)).toEqual([earlier, later]);
      expect(after).toContain(later);
      expect(after).not.toContain(earlier);
    });

    it('forgets a deleted job whole, and leaves the other jobs as they were', async () => {
      // Prepare
      const { store } = subject;
      const [gone, kept] = [await newJob(), await newJob()];
      for (const jobId of [gone, kept]) {
        await store.setJobTotal(jobId, 2);
        await store.putTasks(
          [0, 1].map((index) => ({
            jobId,
            index,
            state: 'pending' as const,
            bytes: 10,
            sha256: `${index}`.padStart(64, '0'),
            attempts: [],
            updatedAt: T0,
          })),
        );
        await store.putSegment(segment(jobId, 0, 0, 2));
      }

      // Act
      await store.deleteJob(gone);
      await store.deleteJob(randomUUID());

      // Assess
      expect(await store.getJob(gone)).toBeUndefined();
      expect(await store.listTasks(gone)).toEqual([]);
      expect(await store.getTask(gone, 0)).toBeUndefined();
      expect(await store.listSegments(gone)).toEqual([]);
      expect((await store.listActiveJobs()).map((job) => job.jobId)).not.toContain(gone);
      expect((await store.getJob(kept))?.chunksTotal).toBe(2);
      expect(await store.listTasks(kept)).toHaveLength(2);
      expect(await store.listSegments(kept)).toHaveLength(1);
    });
  });
};
