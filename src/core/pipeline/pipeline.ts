import { type ErrorRecord, FanoutError, StepTimeoutError, toErrorRecord } from '../errors.ts';
import { buildRun, type ResolvedStep } from './registry.ts';
import type { StepContext, StepRun } from './step.ts';
import { BUILT_IN_STEPS } from './steps/index.ts';

interface BuiltStep {
  name: string;
  timeoutMs: number;
  run: StepRun;
}

export type TaskContext = Omit<StepContext, 'signal'>;

/** One try of one chunk, as every runner records it: the output or the failure, and how long it took. */
export type Attempted =
  | { ok: true; output: Uint8Array; durationMs: number }
  | { ok: false; error: ErrorRecord; durationMs: number };

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

  async run(input: Uint8Array, task: TaskContext): Promise<Uint8Array> {
    let data = input;
    for (const step of this.#steps) data = await this.#runStep(step, data, task);
    return data;
  }

  /** Runs the chunk and never throws: a failure comes back as the record the retry policy reads. */
  async attempt(input: Uint8Array, task: TaskContext): Promise<Attempted> {
    const started = performance.now();
    try {
      const output = await this.run(input, task);
      return { ok: true, output, durationMs: performance.now() - started };
    } catch (error) {
      return { ok: false, error: toErrorRecord(error), durationMs: performance.now() - started };
    }
  }

  async #runStep(step: BuiltStep, input: Uint8Array, task: TaskContext): Promise<Uint8Array> {
    const controller = new AbortController();
    const started = performance.now();
    const timer = setTimeout(
      () => controller.abort(new StepTimeoutError(step.name, step.timeoutMs)),
      step.timeoutMs,
    );
    try {
      const result = step.run(input, { ...task, signal: controller.signal });
      const output = isPromise(result) ? await this.#raceTimeout(result, controller.signal) : result;
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
