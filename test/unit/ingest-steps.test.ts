import { describe, expect, it } from 'vitest';
import { MAX_SEGMENT_CHUNKS } from '../../src/cloud/ingest-steps.ts';
import type { Router } from '../../src/cloud/router.ts';
import { ChunkingMode, KiB } from '../../src/core/constants.ts';
import type { JobRequest } from '../../src/core/job.ts';
import { type CloudRig, cloudRig, drain, jobRequest, runIngestSteps } from '../support/cloud.ts';
import { seededRandom } from '../support/prng.ts';

/** Text of lines from 0 to 300 bytes long, seeded: chunks of 1 KiB end at varied places. */
const text = (bytes: number, seed = 3): Buffer => {
  const random = seededRandom(seed);
  let out = '';
  while (out.length < bytes) out += `${'x'.repeat(Math.floor(random() * 300))}\n`;
  return Buffer.from(out.slice(0, bytes));
};

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/** Records a job on `input` as ingest does, and sends its first step. */
const begin = async (
  rig: CloudRig,
  input: Uint8Array,
  request: JobRequest,
  jobId = 'job-1',
): Promise<string> => {
  const { source } = await rig.bodies.storeBody(jobId, once(input));
  await rig.tasks.createJob({
    jobId,
    createdAt: Date.now(),
    options: { ...request },
    ingest: { source, offset: 0, chunks: 0, segments: 0, steps: 0, updatedAt: Date.now() },
  });
  await rig.ingestSteps.begin(jobId);
  return jobId;
};

/** Every message the targets' queues hold: index, size and digest, by index. */
const sent = async (rig: CloudRig) =>
  [...(await drain(rig.queues.aws)), ...(await drain(rig.queues.gcp))]
    .map(({ index, bytes, sha256 }) => ({ index, bytes, sha256 }))
    .toSorted((a, b) => a.index - b.index);

const request = (mode: 'lines' | 'bytes') =>
  jobRequest('', { chunking: { mode: ChunkingMode[mode], size: KiB }, targets: ['aws'] });

describe('IngestSteps', () => {
  it.each(['lines', 'bytes'] as const)(
    'in %s mode, sends the chunks one pass would, though every step stops after one segment',
    async (mode) => {
      // Prepare
      const input = text(40 * KiB);
      const whole = cloudRig({ segmentBytes: 3 * KiB });
      const stepped = cloudRig({ segmentBytes: 3 * KiB });
      await begin(whole, input, request(mode));
      await begin(stepped, input, request(mode));

      // Act
      const onePass = await runIngestSteps(whole);
      const steps = await runIngestSteps(stepped, () => 0);

      // Assess
      expect(onePass).toEqual(['ended']);
      expect(steps.length).toBeGreaterThan(10);
      expect(steps.slice(0, -1).every((outcome) => outcome === 'handed-over')).toBe(true);
      expect(steps.at(-1)).toBe('ended');
      const expected = await sent(whole);
      expect(await sent(stepped)).toEqual(expected);
      expect(expected.reduce((sum, chunk) => sum + chunk.bytes, 0)).toBe(input.byteLength);
      const segments = await stepped.tasks.listSegments('job-1');
      expect(segments.flatMap((s) => s.chunks.map((c, i) => [s.firstIndex + i, c.sha256]))).toEqual(
        expected.map((c) => [c.index, c.sha256]),
      );
      expect((await stepped.tasks.getJob('job-1'))?.chunksTotal).toBe(expected.length);
      expect(stepped.bodies.bodies).toBe(0);
    },
  );

  it('sends each chunk once when a step dies between a segment written and its send', async () => {
    // Prepare
    const rig = cloudRig({ segmentBytes: 4 * KiB });
    await begin(rig, text(30 * KiB), request('lines'));
    const send = rig.router.send.bind(rig.router);
    let sends = 0;
    rig.router.send = (...args: Parameters<Router['send']>) =>
      ++sends === 3 ? Promise.reject(new Error('function stopped')) : send(...args);

    // Act
    const died = await rig.ingestSteps.run('job-1', () => Number.POSITIVE_INFINITY).catch((e: Error) => e);
    const afterDeath = await rig.tasks.getJob('job-1');
    const resumed = await rig.ingestSteps.run('job-1', () => Number.POSITIVE_INFINITY);

    // Assess
    expect(died).toBeInstanceOf(Error);
    expect(afterDeath?.ingest).toMatchObject({ segments: 2, steps: 2 });
    expect(resumed).toBe('ended');
    const indexes = (await sent(rig)).map((c) => c.index);
    expect(indexes).toEqual(indexes.map((_, i) => i));
    expect((await rig.tasks.getJob('job-1'))?.chunksTotal).toBe(indexes.length);
  });

  it('lets only one of two steps of a job move the checkpoint: the stale one stops, fenced', async () => {
    // Prepare
    const rig = cloudRig({ segmentBytes: 4 * KiB });
    await begin(rig, text(20 * KiB), request('bytes'));

    // Act
    const outcomes = await Promise.all([
      rig.ingestSteps.run('job-1', () => Number.POSITIVE_INFINITY),
      rig.ingestSteps.run('job-1', () => Number.POSITIVE_INFINITY),
    ]);

    // Assess
    expect(outcomes.toSorted()).toEqual(['ended', 'fenced']);
    const job = await rig.tasks.getJob('job-1');
    expect(job?.chunksTotal).toBe(20);
    expect(job?.ingest).toMatchObject({ offset: 20 * KiB, chunks: 20, segments: 5, steps: 6 });
    // The fenced step sent no next step.
    expect(await runIngestSteps(rig)).toEqual(['idle']);
  });

  it(`closes a segment at ${MAX_SEGMENT_CHUNKS} chunks, however few bytes they hold`, async () => {
    // Prepare
    const rig = cloudRig();
    await begin(rig, Buffer.alloc((MAX_SEGMENT_CHUNKS + 5) * KiB, 'x'), request('bytes'));

    // Act
    await runIngestSteps(rig);

    // Assess
    const segments = await rig.tasks.listSegments('job-1');
    expect(segments.map((s) => [s.firstIndex, s.chunks.length])).toEqual([
      [0, MAX_SEGMENT_CHUNKS],
      [MAX_SEGMENT_CHUNKS, 5],
    ]);
  });

  it('does nothing for a job that is unknown, ingested or failed', async () => {
    // Prepare
    const rig = cloudRig();
    await begin(rig, text(2 * KiB), request('lines'));
    await runIngestSteps(rig);
    await begin(rig, text(2 * KiB), request('lines'), 'job-2');
    await rig.tasks.failJob('job-2', 'cancelled', Date.now());

    // Act
    const outcomes = await Promise.all(
      ['job-1', 'job-2', 'job-gone'].map((jobId) => rig.ingestSteps.run(jobId, () => 0)),
    );

    // Assess
    expect(outcomes).toEqual(['idle', 'idle', 'idle']);
  });

  it('marks the job failed, naming the chunks sent, when no target takes a segment', async () => {
    // Prepare
    const rig = cloudRig({ segmentBytes: 4 * KiB });
    await begin(rig, text(10 * KiB), request('bytes'));
    rig.queues.aws.send = () => Promise.reject(new Error('queue gone'));

    // Act
    const outcome = await rig.ingestSteps.run('job-1', () => Number.POSITIVE_INFINITY);

    // Assess
    expect(outcome).toBe('failed');
    const job = await rig.tasks.getJob('job-1');
    expect(job?.failed?.reason).toMatch(
      /^its input stopped after 0 chunks were sent: target aws is unavailable/,
    );
    expect(job?.chunksTotal).toBeUndefined();
  });
});
