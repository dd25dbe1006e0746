import { MemoryHealthStore } from '../../src/adapters/local/memory-health-store.ts';
import { MemoryIdempotencyStore } from '../../src/adapters/local/memory-idempotency-store.ts';
import { MemoryInputStore } from '../../src/adapters/local/memory-input-store.ts';
import { MemoryQueue } from '../../src/adapters/local/memory-queue.ts';
import { MemoryResultStore } from '../../src/adapters/local/memory-result-store.ts';
import { MemoryTaskStore } from '../../src/adapters/local/memory-task-store.ts';
import { ChunkRecords } from '../../src/cloud/chunk-records.ts';
import { CloudJobs } from '../../src/cloud/cloud-jobs.ts';
import { type IngestStepMessage, type IngestStepOutcome, IngestSteps } from '../../src/cloud/ingest-steps.ts';
import { JobPlans } from '../../src/cloud/job-plans.ts';
import type { ChunkDelivery, ChunkMessage } from '../../src/cloud/messages.ts';
import { ChunkProcessor, type DeliveryResult } from '../../src/cloud/processor.ts';
import { type LaneQueues, Router } from '../../src/cloud/router.ts';
import { TargetHealth } from '../../src/cloud/target-health.ts';
import { Balancer } from '../../src/core/balancer.ts';
import { sha256Hex } from '../../src/core/chunker.ts';
import { ChunkingMode, Strategy, TaskState } from '../../src/core/constants.ts';
import type { JobRequest } from '../../src/core/job.ts';
import { byLane, type Lanes } from '../../src/core/lanes.ts';
import { StepRegistry } from '../../src/core/pipeline/registry.ts';
import { parsePipelineSpec } from '../../src/core/pipeline/spec.ts';
import { emptyStats, mergeStats, StatsCollector, type StatsData } from '../../src/core/stats/stats.ts';
import type { ResultRef, TaskRecord } from '../../src/core/task.ts';
import type { StatsReader } from '../../src/ports/stats-reader.ts';
import { LIST_COSTING } from './costing.ts';
import { everyLane } from './lanes.ts';

export type Target = 'aws' | 'gcp';
export const TARGETS: readonly Target[] = ['aws', 'gcp'];

/** The real in-memory result store, counting its writes: each `put` is one stored unit. */
export class CountingResultStore extends MemoryResultStore {
  readonly puts: { jobId: string; count: number }[] = [];

  override async put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]> {
    this.puts.push({ jobId, count: outputs.length });
    return super.put(jobId, outputs);
  }
}

/** A job request as ingest records it: `lines` chunks of 1 KiB, three tries, both targets. */
export const jobRequest = (pipeline: string, overrides: Partial<JobRequest> = {}): JobRequest => ({
  pipeline: parsePipelineSpec(pipeline),
  chunking: { mode: ChunkingMode.lines, size: 1024 },
  maxAttempts: 3,
  strategy: Strategy.leastLoaded,
  targets: [...TARGETS],
  priority: 'medium',
  ...overrides,
});

export interface RigOptions {
  /** @default true */
  redistribute?: boolean;
  /** @default 60000 */
  leaseMs?: number;
  /** Bytes of chunks in one ingest segment. @default 8 MiB */
  segmentBytes?: number;
  /** A queue per lane per target, `queues` then being the medium lanes. @default false: one queue for every lane */
  separateLanes?: boolean;
}

/**
 * The cloud path on the local adapters: one task store, input and result stores, a queue and a
 * dead-letter queue per target, a router over both queues, and a processor per target. Retries wait 0 ms.
 */
export const cloudRig = (options: RigOptions = {}) => {
  const tasks = new MemoryTaskStore();
  const inputs = new CountingResultStore();
  const results = new CountingResultStore();
  const lanesOf = (): Lanes<MemoryQueue<ChunkMessage>> =>
    options.separateLanes === true ? byLane(() => new MemoryQueue()) : everyLane(new MemoryQueue());
  const lanes: Record<Target, Lanes<MemoryQueue<ChunkMessage>>> = { aws: lanesOf(), gcp: lanesOf() };
  const queues: Record<Target, MemoryQueue<ChunkMessage>> = { aws: lanes.aws.medium, gcp: lanes.gcp.medium };
  const deadLetters: Record<Target, MemoryQueue<ChunkMessage>> = {
    aws: new MemoryQueue(),
    gcp: new MemoryQueue(),
  };
  const balancer = new Balancer(
    TARGETS.map((name) => ({ name, weight: 1, capacity: 1 })),
    { strategy: Strategy.leastLoaded, rebalanceThreshold: 0.3 },
  );
  const health = new MemoryHealthStore();
  const router = new Router(
    balancer,
    new Map<string, LaneQueues>([
      ['aws', lanes.aws],
      ['gcp', lanes.gcp],
    ]),
    new TargetHealth(balancer, { store: health }),
    LIST_COSTING,
  );
  const registry = StepRegistry.builtIn();
  const plans = new JobPlans(tasks, registry, {
    baseDelayMs: 0,
    factor: 2,
    maxDelayMs: 0,
    redistribute: options.redistribute ?? true,
  });
  const processor = (target: Target): ChunkProcessor =>
    new ChunkProcessor({
      target,
      workerId: `${target}-fn-1`,
      tasks,
      inputs,
      results,
      plans,
      chunks: new ChunkRecords(tasks),
      router,
      deadLetters: deadLetters[target],
      leaseMs: options.leaseMs ?? 60_000,
    });
  const processors: Record<Target, ChunkProcessor> = { aws: processor('aws'), gcp: processor('gcp') };
  const bodies = new MemoryInputStore(inputs);
  const steps = new MemoryQueue<IngestStepMessage>();
  const ingestSteps = new IngestSteps({
    tasks,
    inputs: bodies,
    router,
    steps,
    ...(options.segmentBytes !== undefined && { segmentBytes: options.segmentBytes }),
  });
  return {
    tasks,
    inputs,
    bodies,
    steps,
    ingestSteps,
    idempotency: new MemoryIdempotencyStore(),
    results,
    queues,
    lanes,
    deadLetters,
    balancer,
    health,
    router,
    registry,
    plans,
    processors,
  };
};
export type CloudRig = ReturnType<typeof cloudRig>;

export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
export const decode = (data: Uint8Array): string => new TextDecoder().decode(data);

/**
 * Records a job as ingest does (no task items) and stores its chunks as one input segment; returns try 1
 * of each chunk, as ingest would send it.
 */
export const stageJob = async (
  rig: CloudRig,
  jobId: string,
  request: JobRequest,
  chunks: readonly string[],
): Promise<ChunkMessage[]> => {
  await rig.tasks.createJob({ jobId, createdAt: Date.now(), options: { ...request } });
  const data = chunks.map(encode);
  const refs = await rig.inputs.put(jobId, data);
  await rig.tasks.putSegment({
    jobId,
    segment: 0,
    firstIndex: 0,
    sentAt: Date.now(),
    chunks: data.map((chunk, index) => ({
      sha256: sha256Hex(chunk),
      bytes: chunk.byteLength,
      input: refs[index] as string,
    })),
  });
  await rig.tasks.setJobTotal(jobId, chunks.length);
  return data.map((chunk, index) => ({
    jobId,
    index,
    attempt: 1,
    routedAt: 0,
    sha256: sha256Hex(chunk),
    bytes: chunk.byteLength,
    input: refs[index] as string,
  }));
};

export const deliveryId = (message: ChunkMessage): string =>
  `${message.jobId}#${message.index}@${message.attempt}`;

export const deliver = (
  message: ChunkMessage,
  redelivered = false,
  id = deliveryId(message),
): ChunkDelivery => ({
  id,
  message,
  redelivered,
});

/** Everything a queue holds now, handed out (and so hidden for a minute). */
export const drain = async (queue: MemoryQueue<ChunkMessage>): Promise<ChunkMessage[]> =>
  (await queue.receive({ max: 10_000, waitMs: 0, visibilityMs: 60_000 })).map((delivery) => delivery.body);

/**
 * Runs the targets' processors over their queues (every lane's), batches of up to 10, as the event source
 * would: acknowledges every delivery but those that come back as `retry`, until every queue is empty.
 */
export const runQueues = async (
  rig: CloudRig,
  order: readonly Target[] = TARGETS,
): Promise<DeliveryResult[]> => {
  const outcomes: DeliveryResult[] = [];
  for (let round = 0; round < 100; round++) {
    let handled = 0;
    for (const [target, queue] of order.flatMap((target) =>
      [...new Set(Object.values(rig.lanes[target]))].map((lane) => [target, lane] as const),
    )) {
      const batch = await queue.receive({ max: 10, waitMs: 0, visibilityMs: 60_000 });
      if (batch.length === 0) continue;
      handled += batch.length;
      const results = await rig.processors[target].process(
        batch.map((d) => deliver(d.body, d.receiveCount > 1, d.receipt)),
      );
      outcomes.push(...results.values());
      await queue.ack(batch.filter((d) => results.get(d.receipt) !== 'retry').map((d) => d.receipt));
    }
    if (handled === 0) return outcomes;
  }
  throw new Error('the queues did not drain in 100 rounds');
};

/**
 * Runs the ingest steps waiting in the rig's step queue, one at a time as the function would, each with
 * the time `remainingMs` gives it, until none is left; returns their outcomes.
 */
export const runIngestSteps = async (
  rig: CloudRig,
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<IngestStepOutcome[]> => {
  const outcomes: IngestStepOutcome[] = [];
  for (;;) {
    const [step] = await rig.steps.receive({ max: 1, waitMs: 0, visibilityMs: 60_000 });
    if (step === undefined) return outcomes;
    outcomes.push(await rig.ingestSteps.run(step.body.jobId, remainingMs));
    await rig.steps.ack([step.receipt]);
  }
};

/** Where the stats function would keep its sums: one collector per job, fed the tasks' transitions. */
export class MemoryStats implements StatsReader {
  readonly #jobs = new Map<string, StatsCollector>();

  collector(jobId: string): StatsCollector {
    let collector = this.#jobs.get(jobId);
    if (collector === undefined) {
      collector = new StatsCollector();
      this.#jobs.set(jobId, collector);
    }
    return collector;
  }

  /** Counts every transition a task went through, as the table's stream would report them. */
  record(task: TaskRecord): void {
    const stats = this.collector(task.jobId);
    stats.taskCreated(task.bytes);
    for (const [i, attempt] of task.attempts.entries()) {
      stats.attemptStarted(attempt.target, attempt.attempt, task.attempts[i - 1]?.target, attempt.startedAt);
      if (attempt.outcome === undefined) continue;
      const endedAt = attempt.endedAt ?? attempt.startedAt;
      stats.attemptEnded({
        target: attempt.target,
        attempt: attempt.attempt,
        outcome: attempt.outcome,
        startedAt: attempt.startedAt,
        endedAt,
        durationMs: attempt.durationMs ?? endedAt - attempt.startedAt,
        bytesIn: task.bytes,
        ...(attempt.outcome === TaskState.completed && { bytesOut: task.bytesOut ?? 0 }),
        ...(attempt.error !== undefined && { retryable: attempt.error.retryable }),
      });
    }
  }

  async jobStats(jobId: string): Promise<{ data: StatsData } | undefined> {
    const collector = this.#jobs.get(jobId);
    return collector && { data: collector.snapshot() };
  }

  async overall(): Promise<StatsData> {
    return [...this.#jobs.values()].reduce((sum, c) => mergeStats(sum, c.snapshot()), emptyStats());
  }
}

/** Concatenates what an async iterable yields. */
export const collect = async (source: AsyncIterable<Uint8Array>): Promise<string> => {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return decode(Buffer.concat(parts));
};

/** The ingest function's job service over a rig, its stats read from `stats`. */
export const cloudJobs = (rig: CloudRig, stats: StatsReader = new MemoryStats()): CloudJobs =>
  new CloudJobs({
    registry: rig.registry,
    tasks: rig.tasks,
    inputs: rig.bodies,
    segments: rig.inputs,
    results: rig.results,
    router: rig.router,
    ingestSteps: rig.ingestSteps,
    idempotency: rig.idempotency,
    stats,
  });
