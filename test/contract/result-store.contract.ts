import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MiB } from '../../src/core/constants.ts';
import type { ResultStore } from '../../src/ports/result-store.ts';
import { freshSubjectPerTest } from './fresh-subject.ts';

export interface ResultStoreUnderTest {
  store: ResultStore;
  /** Deletes whatever the factory created (a bucket, a directory); runs after every test. */
  cleanup?: () => Promise<void>;
}

/** Every byte value, zeros first and last, so no adapter can get away with treating outputs as text. */
const BINARY = Buffer.from([0, 0, ...Array.from({ length: 256 }, (_, i) => i), 0]);

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The same bytes as a Buffer, whatever view an adapter hands back, so they compare by content. */
const asBuffer = (data: Uint8Array | undefined): Buffer | undefined =>
  data && Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * The behaviour every `ResultStore` implementation must show. Each test gets a store from `makeStore` and
 * writes under job ids of its own, so a store backed by a shared bucket is fine.
 */
export const describeResultStoreContract = (
  name: string,
  makeStore: () => Promise<ResultStoreUnderTest>,
): void => {
  describe(`ResultStore contract: ${name}`, { timeout: 30_000 }, () => {
    let store: ResultStore;
    let jobId: string;

    freshSubjectPerTest(makeStore, (subject) => {
      store = subject.store;
      jobId = `job-${randomUUID()}`;
    });

    const readAll = async (job: string, count: number): Promise<Buffer[]> => {
      const outputs: Buffer[] = [];
      for await (const data of store.read(job, count)) outputs.push(asBuffer(data) as Buffer);
      return outputs;
    };

    const putTexts = async (job: string, count: number, prefix: string): Promise<void> => {
      await Promise.all(
        Array.from({ length: count }, (_, index) => store.put(job, index, text(`${prefix}-${index}`))),
      );
    };

    it('returns what was put byte for byte, zero bytes included', async () => {
      // Prepare
      const data = Uint8Array.from(BINARY);

      // Act
      await store.put(jobId, 0, data);
      const stored = await store.get(jobId, 0);

      // Assess
      expect(asBuffer(stored)).toEqual(BINARY);
    });

    it('returns an empty output as empty, not as missing', async () => {
      // Prepare
      await store.put(jobId, 0, new Uint8Array(0));

      // Act
      const stored = await store.get(jobId, 0);
      const read = await readAll(jobId, 1);

      // Assess
      expect(stored).toBeDefined();
      expect(stored?.byteLength).toBe(0);
      expect(read.map((data) => data.byteLength)).toEqual([0]);
    });

    it('returns undefined for an output that was never put', async () => {
      // Prepare
      await store.put(jobId, 0, text('zero'));

      // Act
      const unknownIndex = await store.get(jobId, 1);
      const unknownJob = await store.get(`job-${randomUUID()}`, 0);

      // Assess
      expect(unknownIndex).toBeUndefined();
      expect(unknownJob).toBeUndefined();
    });

    it('replaces an output that is put again', async () => {
      // Prepare
      await store.put(jobId, 0, text('first try, a longer output'));

      // Act
      await store.put(jobId, 0, text('second try'));
      const stored = await store.get(jobId, 0);
      const read = await readAll(jobId, 1);

      // Assess
      expect(asBuffer(stored)).toEqual(text('second try'));
      expect(read).toEqual([text('second try')]);
    });

    it('reads outputs in index order, even when they were put concurrently and out of order', async () => {
      // Prepare
      const indices = Array.from({ length: 20 }, (_, i) => (i * 7) % 20);
      await Promise.all(indices.map((index) => store.put(jobId, index, text(`output-${index}`))));

      // Act
      const read = await readAll(jobId, 20);

      // Assess
      expect(read.map((data) => data.toString('utf8'))).toEqual(
        Array.from({ length: 20 }, (_, index) => `output-${index}`),
      );
    });

    it('reads only the first count outputs', async () => {
      // Prepare
      await putTexts(jobId, 3, 'output');

      // Act
      const read = await readAll(jobId, 2);

      // Assess
      expect(read).toEqual([text('output-0'), text('output-1')]);
    });

    it('fails to read when an output in range is missing', async () => {
      // Prepare
      await Promise.all([0, 1, 3].map((index) => store.put(jobId, index, text(`output-${index}`))));

      // Act
      const reading = readAll(jobId, 4);

      // Assess
      await expect(reading).rejects.toThrow();
    });

    it('removes every output of a job on delete', async () => {
      // Prepare
      await putTexts(jobId, 3, 'output');

      // Act
      await store.delete(jobId);
      const stored = await Promise.all([0, 1, 2].map((index) => store.get(jobId, index)));

      // Assess
      expect(stored).toEqual([undefined, undefined, undefined]);
      await expect(readAll(jobId, 1)).rejects.toThrow();
    });

    it('stores outputs for a job again after it was deleted', async () => {
      // Prepare
      await putTexts(jobId, 2, 'before');
      await store.delete(jobId);

      // Act
      await store.put(jobId, 0, text('after-0'));
      const read = await readAll(jobId, 1);
      const gone = await store.get(jobId, 1);

      // Assess
      expect(read).toEqual([text('after-0')]);
      expect(gone).toBeUndefined();
    });

    it('deletes a job that has no outputs without failing', async () => {
      // Prepare
      const neverWritten = `job-${randomUUID()}`;

      // Act
      const deleting = store.delete(neverWritten);

      // Assess
      await expect(deleting).resolves.toBeUndefined();
    });

    it('makes every one of 200 concurrent small puts readable', async () => {
      // Prepare
      const count = 200;

      // Act
      await putTexts(jobId, count, 'small');
      const read = await readAll(jobId, count);

      // Assess
      expect(read.map((data) => data.toString('utf8'))).toEqual(
        Array.from({ length: count }, (_, index) => `small-${index}`),
      );
    });

    it('round-trips a 1 MiB output', async () => {
      // Prepare
      const large = randomBytes(MiB);
      await store.put(jobId, 0, text('small neighbour'));

      // Act
      await store.put(jobId, 1, large);
      const stored = await store.get(jobId, 1);
      const read = await readAll(jobId, 2);

      // Assess
      expect(stored?.byteLength).toBe(MiB);
      expect(stored && sha256(stored)).toBe(sha256(large));
      expect(read.map(sha256)).toEqual([sha256(text('small neighbour')), sha256(large)]);
    });

    it('keeps jobs independent: same indices, different outputs, deleting one leaves the other', async () => {
      // Prepare
      const otherJobId = `job-${randomUUID()}`;
      await Promise.all([putTexts(jobId, 2, 'mine'), putTexts(otherJobId, 2, 'other')]);

      // Act
      const mine = await readAll(jobId, 2);
      await store.delete(jobId);
      const other = await readAll(otherJobId, 2);

      // Assess
      expect(mine).toEqual([text('mine-0'), text('mine-1')]);
      expect(other).toEqual([text('other-0'), text('other-1')]);
      expect(await store.get(jobId, 0)).toBeUndefined();
    });
  });
};
