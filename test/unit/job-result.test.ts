import { describe, expect, it } from 'vitest';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { TaskState } from '../../src/core/constants.ts';
import { fanInOf } from '../../src/core/pipeline/fan-in.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { readJobRejects, readJobResult, storeCombined } from '../../src/lifecycle/job-result.ts';

const JOB = 'job-1';
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = async (pieces: AsyncIterable<Uint8Array>): Promise<string> => {
  let all = '';
  for await (const piece of pieces) all += new TextDecoder().decode(piece);
  return all;
};

/** A partial of `calculate:op=sum:field=v` over `values`, as a chunk's try would yield it. */
const sumPartial = (...values: number[]): string => {
  const sum = values.reduce((a, b) => a + b, 0);
  return `${JSON.stringify({ v: 1, op: 'sum', field: 'v', all: { count: values.length, skipped: 0, sum: values.length ? [sum] : [] } })}\n`;
};

/** A job whose tasks completed with `outputs` (and `rejects`, by index), and one task that failed. */
const jobWith = async (outputs: string[], rejects: Record<number, string> = {}) => {
  const tasks = new MemoryTaskStore();
  const results = new MemoryResultStore();
  await tasks.createJob({ jobId: JOB, createdAt: 0, options: {} });
  const records: TaskRecord[] = [];
  for (const [index, output] of outputs.entries()) {
    const [result, rejected] = await results.put(JOB, [
      encode(output),
      ...(rejects[index] ? [encode(rejects[index])] : []),
    ]);
    records.push({
      jobId: JOB,
      index,
      state: TaskState.completed,
      bytes: 1,
      sha256: 'x',
      bytesOut: output.length,
      result: result as string,
      ...(rejected && { rejects: rejected, rejected: 1 }),
      attempts: [],
      updatedAt: 0,
    });
  }
  records.push({
    jobId: JOB,
    index: outputs.length,
    state: TaskState.failed,
    bytes: 1,
    sha256: 'x',
    attempts: [],
    updatedAt: 0,
  });
  await tasks.putTasks(records);
  return { tasks, results };
};

const SUM = fanInOf(parsePipelineSpec('calculate:op=sum:field=v'));

describe('readJobResult', () => {
  it("lays a plain job's outputs end to end, from a chunk on when asked", async () => {
    // Prepare
    const parts = await jobWith(['a\n', 'b\n', 'c\n']);

    // Act
    const [whole, rest] = await Promise.all([
      text(readJobResult(parts, JOB, undefined)),
      text(readJobResult(parts, JOB, undefined, 1)),
    ]);

    // Assess
    expect(whole).toBe('a\nb\nc\n');
    expect(rest).toBe('b\nc\n');
  });

  it("reduces a calculation's partials in chunk order when no combined result is recorded", async () => {
    // Prepare
    const parts = await jobWith([sumPartial(1, 2), sumPartial(), sumPartial(3.5)]);

    // Act
    const result = await text(readJobResult(parts, JOB, SUM));

    // Assess
    expect(result).toBe('{"op":"sum","field":"v","count":3,"skipped":0,"sum":6.5}\n');
  });

  it('reads the combined result once stored, and reduces anew after a re-run made it out of date', async () => {
    // Prepare
    const parts = await jobWith([sumPartial(1)]);
    await storeCombined(parts, JOB, SUM);
    const [, stale] = await parts.results.put(JOB, [encode('unused'), encode('{"stale":true}\n')]);
    await parts.tasks.setJobResult(JOB, { ref: stale as string, at: 5 });

    // Act
    const current = await text(readJobResult(parts, JOB, SUM));
    await parts.tasks.rerunJob(JOB, 10);
    const afterRerun = await text(readJobResult(parts, JOB, SUM));

    // Assess
    expect(current).toBe('{"stale":true}\n');
    expect(afterRerun).toBe('{"op":"sum","field":"v","count":1,"skipped":0,"sum":1}\n');
  });

  it('merges the sorted runs of a sort', async () => {
    // Prepare
    const parts = await jobWith(['{"k":1}\n{"k":4}\n', '{"k":2}\n{"k":3}\n']);

    // Act
    const result = await text(
      readJobResult(parts, JOB, fanInOf(parsePipelineSpec('calculate:op=sort:field=k'))),
    );

    // Assess
    expect(result).toBe('{"k":1}\n{"k":2}\n{"k":3}\n{"k":4}\n');
  });
});

describe('storeCombined', () => {
  it('writes the reduced result and records where it lies, for a reduce only', async () => {
    // Prepare
    const parts = await jobWith([sumPartial(2), sumPartial(5)]);
    const before = Date.now();

    // Act
    await storeCombined(parts, JOB, fanInOf(parsePipelineSpec('calculate:op=sort:field=k')));
    const afterSort = (await parts.tasks.getJob(JOB))?.combined;
    await storeCombined(parts, JOB, SUM);
    const combined = (await parts.tasks.getJob(JOB))?.combined;

    // Assess
    expect(afterSort).toBeUndefined();
    expect(combined?.at).toBeGreaterThanOrEqual(before);
    expect(await text(parts.results.read(JOB, [combined?.ref as string]))).toBe(
      '{"op":"sum","field":"v","count":2,"skipped":0,"sum":7}\n',
    );
  });
});

describe('readJobRejects', () => {
  it("gives the completed tasks' rejects in chunk order", async () => {
    // Prepare
    const parts = await jobWith(['a\n', 'b\n', 'c\n'], { 0: '{"line":1}\n', 2: '{"line":3}\n' });

    // Act
    const rejects = await text(readJobRejects(parts, JOB));

    // Assess
    expect(rejects).toBe('{"line":1}\n{"line":3}\n');
  });
});
