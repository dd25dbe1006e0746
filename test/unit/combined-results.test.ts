import { describe, expect, it } from 'vitest';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { CombinedResults } from '../../src/cloud/stats-function.ts';
import { TaskState } from '../../src/core/constants.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A job of `pipeline` whose one chunk completed with `output`. */
const endedJob = async (
  parts: { tasks: MemoryTaskStore; results: MemoryResultStore },
  jobId: string,
  pipeline: string,
  output: string,
) => {
  await parts.tasks.createJob({ jobId, createdAt: 0, options: { pipeline: parsePipelineSpec(pipeline) } });
  const [result] = await parts.results.put(jobId, [encode(output)]);
  await parts.tasks.putTasks([
    {
      jobId,
      index: 0,
      state: TaskState.completed,
      bytes: 1,
      sha256: 'x',
      result: result as string,
      attempts: [],
      updatedAt: 0,
    },
  ]);
};

describe('CombinedResults', () => {
  it('writes the reduced result of each ended calculation once, and nothing for other jobs', async () => {
    // Prepare
    const parts = { tasks: new MemoryTaskStore(), results: new MemoryResultStore() };
    const partial = '{"v":1,"op":"count","field":"n","all":{"count":2,"skipped":1}}\n';
    await endedJob(parts, 'calc', 'calculate:op=count:field=n', partial);
    await endedJob(parts, 'plain', 'transform:uppercase', 'A\n');
    const errors: string[] = [];
    const combined = new CombinedResults(parts, (_, jobId) => errors.push(jobId));

    // Act
    await combined.store(['calc', 'plain', 'calc']);

    // Assess
    const ref = (await parts.tasks.getJob('calc'))?.combined?.ref as string;
    let written = '';
    for await (const piece of parts.results.read('calc', [ref])) written += new TextDecoder().decode(piece);
    expect(written).toBe('{"op":"count","field":"n","count":2,"skipped":1}\n');
    expect((await parts.tasks.getJob('plain'))?.combined).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('tells of a job whose partials cannot be reduced, and goes on with the others', async () => {
    // Prepare
    const parts = { tasks: new MemoryTaskStore(), results: new MemoryResultStore() };
    await endedJob(parts, 'forged', 'calculate:op=sum:field=n', '{"v":1,"op":"max","field":"n"}\n');
    await endedJob(
      parts,
      'good',
      'calculate:op=count:field=n',
      '{"v":1,"op":"count","field":"n","all":{"count":0,"skipped":0}}\n',
    );
    const errors: [string, string][] = [];
    const combined = new CombinedResults(parts, (error, jobId) =>
      errors.push([jobId, (error as Error).name]),
    );

    // Act
    await combined.store(['forged', 'good']);

    // Assess
    expect(errors).toEqual([['forged', 'PartialMismatchError']]);
    expect((await parts.tasks.getJob('good'))?.combined).toBeDefined();
  });
});
