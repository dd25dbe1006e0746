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

    it('reads the bytes of a range of an output, each output of a unit apart', async () => {
      // Prepare
      const [a, b, c] = [randomBytes(10), randomBytes(300), randomBytes(7)];
      const [refA, refB, refC] = (await store.put(jobId, [a, b, c])) as [string, string, string];
      const asked: [string, Buffer, number, number][] = [
        [refB, b, 0, 300],
        [refB, b, 1, 5],
        [refB, b, 299, 1],
        [refB, b, 100, 150],
        [refA, a, 0, 10],
        [refC, c, 3, 4],
      ];

      // Act
      const read = await Promise.all(
        asked.map(([ref, , offset, length]) => store.readRange(jobId, ref, offset, length)),
      );

      // Assess
      expect(read.map(asBuffer)).toEqual(
        asked.map(([, data, offset, length]) => data.subarray(offset, offset + length)),
      );
    });

    it('clamps a range to the end of its output: from the end on, it reads nothing', async () => {
      // Prepare
      const data = randomBytes(300);
      const [ref, empty] = (await store.put(jobId, [data, new Uint8Array(0), text('next')])) as [
        string,
        string,
      ];

      // Act
      const read = await Promise.all([
        store.readRange(jobId, ref, 290, 100),
        store.readRange(jobId, ref, 300, 5),
        store.readRange(jobId, ref, 1_000, 5),
        store.readRange(jobId, ref, 5, 0),
        store.readRange(jobId, empty, 0, 10),
      ]);

      // Assess
      expect(read.map(asBuffer)).toEqual([
        data.subarray(290),
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.alloc(0),
      ]);
    });

    it('reads a range deep in a 1 MiB output', async () => {
      // Prepare
      const large = randomBytes(MiB);
      const [, ref] = (await store.put(jobId, [text('a'), large])) as [string, string];

      // Act
      const read = await store.readRange(jobId, ref, MiB / 2 + 3, 70_000);

      // Assess
      expect(sha256(read)).toBe(sha256(large.subarray(MiB / 2 + 3, MiB / 2 + 3 + 70_000)));
    });

    it('reads the same outputs for a caller that lets it reuse its buffers', async () => {
      // Prepare: more than a few MiB, so that a store reading blocks reads several.
      const outputs = Array.from({ length: 12 }, () => randomBytes(700 * 1024));
      const refs = await store.put(jobId, outputs);

      // Act: each copied before the next is asked for, as the option allows.
      const read: string[] = [];
      for await (const data of store.read(jobId, [...refs, ...refs.slice(0, 3)], { reuseBuffers: true })) {
        read.push(sha256(data));
      }

      // Assess
      expect(read).toEqual([...outputs, ...outputs.slice(0, 3)].map(sha256));
    });

    it('reads a range into a buffer it is given, from its start, and answers a view of it', async () => {
      // Prepare
      const data = randomBytes(300);
      const [ref, empty] = (await store.put(jobId, [data, new Uint8Array(0)])) as [string, string];
      const into = new Uint8Array(128).fill(7);

      // Act
      const read = await store.readRange(jobId, ref, 100, 50, into);
      const copied = Buffer.from(read);
      const clamped = await store.readRange(jobId, ref, 280, 100, new Uint8Array(100));
      const none = await store.readRange(jobId, empty, 0, 10, into);

      // Assess
      expect(read.buffer).toBe(into.buffer);
      expect(read.byteOffset).toBe(into.byteOffset);
      expect(copied).toEqual(data.subarray(100, 150));
      expect(Buffer.from(into.subarray(50))).toEqual(Buffer.alloc(78, 7));
      expect(asBuffer(clamped)).toEqual(data.subarray(280));
      expect(none.byteLength).toBe(0);
    });

    it('reads range after range into the same buffer', async () => {
      // Prepare
      const data = randomBytes(MiB);
      const [ref] = (await store.put(jobId, [data])) as [string];
      const into = new Uint8Array(64 * 1024);
      const hashes: string[] = [];

      // Act
      for (let offset = 0; offset < MiB; offset += into.byteLength) {
        hashes.push(sha256(await store.readRange(jobId, ref, offset, into.byteLength, into)));
      }

      // Assess
      expect(hashes).toEqual(
        Array.from({ length: 16 }, (_, i) => sha256(data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024))),
      );
    });

    it('refuses with RangeError a buffer to read into that is smaller than the length asked', async () => {
      // Prepare
      const [ref] = (await store.put(jobId, [text('some bytes')])) as [string];

      // Act
      const read = store.readRange(jobId, ref, 0, 5, new Uint8Array(4));

      // Assess
      await expect(read).rejects.toBeInstanceOf(RangeError);
    });

    it('holds none of the buffers put once put resolves: the caller may write over them', async () => {
      // Prepare
      const data = Buffer.from(text('first bytes'));
      const [ref] = (await store.put(jobId, [data])) as [string];

      // Act
      data.fill(0);
      const stored = await readOne(store, jobId, ref);
      const range = await store.readRange(jobId, ref, 0, 5);

      // Assess
      expect(asBuffer(stored)).toEqual(text('first bytes'));
      expect(asBuffer(range)).toEqual(text('first'));
    });

    it('refuses a range whose offset or length is negative or not a whole number with RangeError', async () => {
      // Prepare
      const [ref] = (await store.put(jobId, [text('some bytes')])) as [string];
      const ranges = [
        [-1, 1],
        [0, -1],
        [1.5, 1],
        [0, 0.5],
        [Number.NaN, 1],
        [0, Number.POSITIVE_INFINITY],
        [2 ** 53, 1],
      ] as const;

      // Act
      const reads = ranges.map(([offset, length]) => store.readRange(jobId, ref, offset, length));

      // Assess
      for (const read of reads) await expect(read).rejects.toBeInstanceOf(RangeError);
    });

    it('fails a range read with MissingResultError for a ref never handed out or of another job', async () => {
      // Prepare
      const [ref] = (await store.put(jobId, [text('mine')])) as [string];

      // Act
      const reads = [
        store.readRange(jobId, 'not-a-ref', 0, 1),
        store.readRange(`job-${randomUUID()}`, ref, 0, 1),
      ];

      // Assess
      for (const read of reads) await expect(read).rejects.toBeInstanceOf(MissingResultError);
    });

    it('fails a range read with MissingResultError once its job is deleted', async () => {
      // Prepare
      const [ref] = (await store.put(jobId, [text('gone soon')])) as [string];
      await store.delete(jobId);

      // Act
      const read = store.readRange(jobId, ref, 2, 4);

      // Assess
      await expect(read).rejects.toBeInstanceOf(MissingResultError);
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
