import { UsageError } from '../core/errors.ts';
import { type JobRequest, recordedRequest } from '../core/job.ts';
import { Pipeline } from '../core/pipeline/pipeline.ts';
import type { StepRegistry } from '../core/pipeline/registry.ts';
import { type RetryOptions, RetryPolicy } from '../core/retry.ts';
import type { TaskStore } from '../ports/task-store.ts';

/** What a processor needs to run a job's chunks: built once per container from the job's record. */
export interface JobPlan {
  jobId: string;
  createdAt: number;
  request: JobRequest;
  pipeline: Pipeline;
  retry: RetryPolicy;
}

/** The plans of jobs a container has seen; a job's options never change, so a plan is never stale. */
export class JobPlans {
  readonly #tasks: TaskStore;
  readonly #registry: StepRegistry;
  readonly #retry: Omit<RetryOptions, 'maxAttempts'>;
  readonly #plans = new Map<string, Promise<JobPlan | undefined>>();
  readonly #capacity: number;

  constructor(
    tasks: TaskStore,
    registry: StepRegistry,
    retry: Omit<RetryOptions, 'maxAttempts'>,
    capacity = 64,
  ) {
    this.#tasks = tasks;
    this.#registry = registry;
    this.#retry = retry;
    this.#capacity = capacity;
  }

  /** Undefined for a job the store does not know: expired, deleted, or never created. */
  get(jobId: string): Promise<JobPlan | undefined> {
    let plan = this.#plans.get(jobId);
    if (plan === undefined) {
      plan = this.#load(jobId);
      this.#plans.set(jobId, plan);
      plan
        .then((found) => found === undefined && this.#plans.delete(jobId))
        .catch(() => this.#plans.delete(jobId));
      // Oldest first out: a Map iterates in insertion order.
      if (this.#plans.size > this.#capacity) this.#plans.delete(this.#plans.keys().next().value as string);
    }
    return plan;
  }

  async #load(jobId: string): Promise<JobPlan | undefined> {
    const record = await this.#tasks.getJob(jobId);
    if (record === undefined) return undefined;
    const request = recordedRequest(record.options);
    if (!Array.isArray(request.pipeline) || typeof request.maxAttempts !== 'number') {
      throw new UsageError(`job ${jobId} was recorded without its pipeline and attempts`);
    }
    return {
      jobId,
      createdAt: record.createdAt,
      request,
      pipeline: new Pipeline(this.#registry.resolve(request.pipeline, request.chunking.mode)),
      retry: new RetryPolicy({ ...this.#retry, maxAttempts: request.maxAttempts }),
    };
  }
}
