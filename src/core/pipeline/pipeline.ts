import { type ErrorRecord, FanoutError, StepTimeoutError, toErrorRecord } from '../errors.ts';
import { readRecords, writeRecords, writeRejects } from './records.ts';
import { buildRun, type ResolvedStep } from './registry.ts';
import type { BuiltRun, JsonRecord, RejectRecord, StepContext } from './step.ts';
import { BUILT_IN_STEPS } from './steps/index.ts';

interface BuiltStep {
  name: string;
  timeoutMs: number;
  run: BuiltRun;
}

export type TaskContext = Omit<StepContext, 'signal'>;

/** A chunk's output, and the records its `check` steps took out, as NDJSON, when there were any. */
export interface PipelineOutput {
  output: Uint8Array;
  rejects?: { count: number; data: Uint8Array };
}

/** One try of one chunk, as every runner records it: the output or the failure, and how long it took. */
export type Attempted =
  | ({ ok: true; durationMs: number } & PipelineOutput)
  | { ok: false; error: ErrorRecord; durationMs: number };

/** What passes from step to step: bytes, or the records of a run of record steps. */
type Passed = { bytes: Uint8Array } | { records: JsonRecord[]; endsWithNewline: boolean };

const asBytes = (passed: Passed): Uint8Array =>
  'bytes' in passed ? passed.bytes : writeRecords(passed.records, passed.endsWithNewline);

const isPromise = (value: unknown): value is Promise<Uint8Array> =>
  typeof (value as Promise<unknown> | undefined)?.then === 'function';

/** The enabled steps of a pipeline, built once and run on every chunk in order. */
export class Pipeline {
  readonly #steps: BuiltStep[];
  /**
   * True when every enabled step is a built-in one: those never write to their input. A custom step may,
   * so a runner that must keep the chunk as it was (for a retry) gives such a pipeline a copy.
   */
  readonly onlyReadsInput: boolean;
  /**
   * The longest a try may take: every step's timeout in turn. A step that yields fails at its own timeout;
   * a runner that can stop one that never yields (the engine's worker threads) stops it after this.
   */
  readonly timeoutMs: number;
  /** The longest timeout of one step: 0 for a pipeline without steps. */
  readonly longestStepTimeoutMs: number;

  constructor(steps: readonly ResolvedStep[]) {
    const enabled = steps.filter((step) => step.spec.enabled);
    this.#steps = enabled.map((step) => ({
      name: step.spec.name,
      timeoutMs: step.spec.timeoutMs,
      run: buildRun(step),
    }));
    this.onlyReadsInput = enabled.every((step) => BUILT_IN_STEPS.includes(step.definition));
    this.timeoutMs = this.#steps.reduce((sum, step) => sum + step.timeoutMs, 0);
    this.longestStepTimeoutMs = Math.max(0, ...this.#steps.map((step) => step.timeoutMs));
  }

  async run(input: Uint8Array, task: TaskContext): Promise<PipelineOutput> {
    const rejects: RejectRecord[] = [];
    let passed: Passed = { bytes: input };
    for (const step of this.#steps) passed = await this.#runStep(step, passed, task, rejects);
    const output = asBytes(passed);
    if (rejects.length === 0) return { output };
    // In the input's order, whichever step took each out: a stable sort keeps a line's steps in order.
    rejects.sort((a, b) => a.line - b.line);
    return { output, rejects: { count: rejects.length, data: writeRejects(rejects) } };
  }

  /** Runs the chunk and never throws: a failure comes back as the record the retry policy reads. */
  async attempt(input: Uint8Array, task: TaskContext): Promise<Attempted> {
    const started = performance.now();
    try {
      const done = await this.run(input, task);
      return { ok: true, ...done, durationMs: performance.now() - started };
    } catch (error) {
      return { ok: false, error: toErrorRecord(error), durationMs: performance.now() - started };
    }
  }

  async #runStep(
    step: BuiltStep,
    passed: Passed,
    task: TaskContext,
    rejects: RejectRecord[],
  ): Promise<Passed> {
    const controller = new AbortController();
    const started = performance.now();
    const timer = setTimeout(
      () => controller.abort(new StepTimeoutError(step.name, step.timeoutMs)),
      step.timeoutMs,
    );
    try {
      const ctx = { ...task, signal: controller.signal };
      let output: Passed;
      if (typeof step.run === 'function') {
        const result = step.run(asBytes(passed), ctx);
        output = { bytes: isPromise(result) ? await this.#raceTimeout(result, controller.signal) : result };
      } else {
        const read = 'bytes' in passed ? readRecords(passed.bytes, task.firstLine ?? 1) : passed;
        const result = step.run.records(read.records, { ...ctx, reject: (r) => rejects.push(r) });
        output =
          result instanceof Uint8Array
            ? { bytes: result }
            : { records: result, endsWithNewline: read.endsWithNewline };
      }
      // A synchronous step cannot be interrupted; one that overran its timeout still fails.
      if (performance.now() - started > step.timeoutMs) throw new StepTimeoutError(step.name, step.timeoutMs);
      return output;
    } catch (error) {
      if (controller.signal.aborted && !(error instanceof FanoutError)) throw controller.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #raceTimeout(result: Promise<Uint8Array>, signal: AbortSignal): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      result.then(resolve, reject);
    });
  }
}
