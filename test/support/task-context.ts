import { sha256Hex } from '../../src/core/chunker.ts';
import type { TaskContext } from '../../src/core/pipeline/pipeline.ts';

/** The context a worker gives a pipeline for one chunk: the first try on aws, with the chunk's own SHA-256. */
export const taskContext = (data: Uint8Array, overrides: Partial<TaskContext> = {}): TaskContext => ({
  jobId: 'job-1',
  index: 0,
  sha256: sha256Hex(data),
  attempt: 1,
  target: 'aws',
  workerId: 'aws-0',
  jobStartedAt: Date.now(),
  ...overrides,
});
