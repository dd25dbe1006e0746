import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readOne } from '../../src/adapters/result-reading.ts';
import { MiB } from '../../src/core/constants.ts';
import { MissingResultError } from '../../src/ports/errors.ts';
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
  /** A store of this kind whose backing (a bucket, a directory) cannot exist, for its probe to fail on. */
  missing?: () => ResultStore,
): void => {
  describe(`ResultStore contract: ${name}`, { timeout: 30_000 }, () => {
    let store: ResultStore;
    let jobId: string;

    freshSubjectPerTest(makeStore, (subject) => {
      store = subject.store;
      jobId = `job-${randomUUID()}`;
    });

    const readAll = async (job: string, refs: readonly string[]): Promise<Buffer[]> => {
      const outputs: Buffer[] = [];
      for await (const data of store.read(job, refs)) outputs.push(asBuffer(data) as Buffer);
      return outputs;
    };

    const texts = (count: number, prefix: string): Buffer[] =>
      Array.from({ length: count }, (_, index) => text(`${prefix}-${index}`));

    it('returns what was put byte for byte, zero bytes included', async () => {
      // Prepare
      const data = Uint8Array.from(BINARY);

      // Act
      const [ref] = await store.put(jobId, [data]);
      const stored = await readOne(store, jobId, ref as string);

      // Assess
      expect(asBuffer(stored)).toEqual(BINARY);
    });

    it('returns an empty output as empty, not as missing', async () => {
      // Prepare
      const outputs = [text('before'), new Uint8Array(0), text('after')];

      // Act
      const refs = await store.put(jobId, outputs);
      const stored = await readAll(jobId, refs);

      // Assess
      expect(stored).toEqual([text('before'), Buffer.alloc(0), text('after')]);
    });

    it('hands out one ref per output, in the order given, and reads each one back', async () => {
      // Prepare
      const outputs = texts(5, 'batch');

      // Act
      const refs = await store.put(jobId, outputs);
      const one = await readOne(store, jobId, refs[3] as string);

      // Assess
      expect(refs).toHaveLength(5);
      expect(new Set(refs).size).toBe(5);
      expect(asBuffer(one)).toEqual(text('batch-3'));
    });

    it('reads outputs in the order of the refs asked for, across puts and out of put order', async () => {
      // Prepare
      const [first, second] = await Promise.all([
        store.put(jobId, texts(3, 'first')),
        store.put(jobId, texts(3, 'second')),
      ]);
      const refs = [...(second as string[]), ...(first as string[])].reverse();

      // Act
      const stored = await readAll(jobId, refs);

      // Assess
      expect(stored.map(String)).toEqual([
        'first-2',
        'first-1',
        'first-0',
        'second-2',
        'second-1',
        'second-0',
      ]);
    });

    it('fails with MissingResultError for a ref it never handed out', async () => {
      // Prepare
      await store.put(jobId, [text('kept')]);

      // Act
      const read = readAll(jobId, ['not-a-ref']);

      // Assess
      await expect(read).rejects.toBeInstanceOf(MissingResultError);
    });

    it('fails with MissingResultError for a ref of another job', async () => {
      // Prepare
      const [ref] = await store.put(jobId, [text('mine')]);

      // Act
      const read = readAll(`job-${randomUUID()}`, [ref as string]);

      // Assess
      await expect(read).rejects.toBeInstanceOf(MissingResultError);
    });

    it('removes every output of a job on delete', async () => {
      // Prepare
      const refs = await store.put(jobId, texts(3, 'gone'));

      // Act
      await store.delete(jobId);

      // Assess
      for (const ref of refs) {
        await expect(readOne(store, jobId, ref)).rejects.toBeInstanceOf(MissingResultError);
      }
    });

    it('stores outputs for a job again after it was deleted', async () => {
      // Prepare
      await store.put(jobId, [text('old')]);
      await store.delete(jobId);

      // Act
      const [ref] = await store.put(jobId, [text('new')]);

      // Assess
      expect(asBuffer(await readOne(store, jobId, ref as string))).toEqual(text('new'));
    });

    it('deletes a job that has no outputs without failing', async () => {
      // Act
      const deletion = store.delete(`job-${randomUUID()}`);

      // Assess
      await expect(deletion).resolves.toBeUndefined();
    });

    it('makes every one of 200 concurrent small puts readable', async () => {
      // Prepare
      const outputs = texts(200, 'concurrent');

      // Act
      const refs = await Promise.all(outputs.map((output) => store.put(jobId, [output])));
      const stored = await readAll(jobId, refs.flat());

      // Assess
      expect(stored).toEqual(outputs);
    });

    it('round-trips a 1 MiB output between two small ones', async () => {
      // Prepare
      const large = randomBytes(MiB);

      // Act
      const refs = await store.put(jobId, [text('a'), large, text('b')]);
      const stored = await readAll(jobId, refs);

      // Assess
      expect(stored).toHaveLength(3);
      expect(sha256(stored[1] as Buffer)).toBe(sha256(large));
      expect(stored[0]).toEqual(text('a'));
      expect(stored[2]).toEqual(text('b'));
    });

    it('answers a probe', async () => {
      // Act
      const probed = store.probe();

      // Assess
      await expect(probed).resolves.toBeUndefined();
    });

    it.runIf(missing)('fails a probe where its backing does not exist', async () => {
      // Act
      const probed = (missing as () => ResultStore)().probe();

      // Assess
      await expect(probed).rejects.toThrow();
    });

    it('keeps jobs independent: deleting one leaves the other readable', async () => {
      // Prepare
      const otherJob = `job-${randomUUID()}`;
      const mine = await store.put(jobId, [text('mine')]);
      const theirs = await store.put(otherJob, [text('theirs')]);

      // Act
      await store.delete(jobId);

      // Assess
      expect(await readAll(otherJob, theirs)).toEqual([text('theirs')]);
      await expect(readAll(jobId, mine)).rejects.toBeInstanceOf(MissingResultError);
    });
  });
};
