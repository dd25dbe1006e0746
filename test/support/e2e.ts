import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import { readOne } from '../../src/adapters/result-reading.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { TaskState } from '../../src/core/constants.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import type { ResultStore } from '../../src/ports/result-store.ts';

/** The chaos step's own rule for which chunks are poisoned under a seed and a share. */
const poisonedBy =
  (seed: number, share: number) =>
  (index: number): boolean =>
    createHash('sha256').update(`${seed}:poison:${index}`).digest().readUIntBE(0, 6) / 2 ** 48 < share;

/** One line of exactly `size` bytes per chunk index, so an input of n lines is exactly n chunks. */
const lineOf =
  (size: number) =>
  (index: number): string =>
    `${`event ${index} `.padEnd(size - 1, 'abcdefghij')}\n`;

/**
 * The chaos job of the emulator e2e suites: `validate`, 20% retryable failures and a share of poisoned
 * chunks under `seed`, then uppercase and gzip; inputs of one `lineOf(chunkSize)` line per chunk.
 */
export const chaosJob = (seed: number, poison: number, chunkSize: number) => {
  const line = lineOf(chunkSize);
  return {
    pipeline: `validate,chaos:fail=0.2:poison=${poison}:seed=${seed},transform:uppercase,compress:gzip`,
    isPoisoned: poisonedBy(seed, poison),
    line,
    input: (chunks: number): Buffer =>
      Buffer.from(Array.from({ length: chunks }, (_, i) => line(i)).join('')),
  };
};

export const waitFor = async <T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/** The completed tasks whose stored output, gunzipped, is not `expected(index)`. */
export const mismatchedGzipOutputs = async (
  results: ResultStore,
  jobId: string,
  tasks: readonly TaskRecord[],
  expected: (index: number) => string,
): Promise<number[]> => {
  const mismatches: number[] = [];
  for (const task of tasks.filter((t) => t.state === TaskState.completed)) {
    const output = await readOne(results, jobId, task.result as string);
    if (gunzipSync(output).toString() !== expected(task.index)) mismatches.push(task.index);
  }
  return mismatches;
};

/** Everything in an SQS queue now, each hidden for a minute once read. */
export const drainSqs = async (sqs: SQSClient, queueUrl: string): Promise<ChunkMessage[]> => {
  const messages: ChunkMessage[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) return messages;
    messages.push(...Messages.map((m) => JSON.parse(m.Body as string) as ChunkMessage));
  }
};

/**
 * Every chunk of the job ended exactly once: the poisoned ones failed with `PoisonChunkError`, every other
 * one completed, with exactly one completion, last in its history.
 */
export const expectEachChunkEndedOnce = (
  tasks: readonly TaskRecord[],
  chunks: number,
  isPoisoned: (index: number) => boolean,
): void => {
  const poisoned = Array.from({ length: chunks }, (_, i) => i).filter(isPoisoned);
  const failed = tasks.filter((task) => task.state === TaskState.failed);
  expect(tasks.map((task) => task.index)).toEqual(Array.from({ length: chunks }, (_, i) => i));
  expect(poisoned.length).toBeGreaterThan(0);
  expect(failed.map((task) => task.index)).toEqual(poisoned);
  expect(failed.every((task) => task.error?.name === 'PoisonChunkError')).toBe(true);
  const completed = tasks.filter((task) => task.state === TaskState.completed);
  expect(completed).toHaveLength(chunks - poisoned.length);
  for (const task of completed) {
    const outcomes = task.attempts.map((attempt) => attempt.outcome);
    expect(outcomes.filter((outcome) => outcome === TaskState.completed)).toHaveLength(1);
    expect(outcomes.at(-1)).toBe(TaskState.completed);
  }
};
