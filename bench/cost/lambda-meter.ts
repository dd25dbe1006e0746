import { AsyncResource, createHook, executionAsyncResource } from 'node:async_hooks';
import { registerHooks } from 'node:module';

/** One handler invocation as measured here. */
export interface Invocation {
  /** `ingest`, `process-aws` or `stats`. */
  fn: string;
  phase: string;
  /** From the call to the settling of the handler's promise. */
  wallMs: number;
  /** Main-thread CPU time spent in this invocation's async context (see {@link LambdaMeter}). */
  cpuMs: number;
  failed: boolean;
  /** Records in the event (SQS or stream batch); 0 for an HTTP request. */
  records: number;
}

const TAG = Symbol('fanout-bench-invocation');
type Tagged = { [TAG]?: Invocation };

const cpuNowUs = (): number => {
  const { user, system } = process.threadCpuUsage();
  return user + system;
};

type AnyHandler = (event: unknown, context: unknown) => Promise<unknown>;

/**
 * Measures the function handlers in this process. Each handler module (`functions/NAME/handler.ts`) is
 * replaced, at load, by a module that wraps its `handler`: the wrapper times each invocation (wall) and
 * runs it in its own async resource. An async hook then charges every slice of main-thread CPU time
 * (process.threadCpuUsage between a callback's before and after hooks, nested callbacks excluded) to the
 * invocation whose async context the callback runs in, whatever else runs concurrently in the process:
 * the proxy, the event sources' polling and the bench are not charged. The steps (SHA-256, text
 * transforms, gzipSync) and the SDK's own work run synchronously on this thread, so this is the
 * handlers' CPU time; work on libuv's thread pool would not be counted (none is on this path).
 */
export class LambdaMeter {
  readonly invocations: Invocation[] = [];
  phase = 'setup';
  readonly #stack: (Invocation | undefined)[] = [];
  #mark = 0;

  /** Installs the load hook for the handler modules under `functionsDir` and the CPU-attribution async hook. */
  install(functionsDir: URL, names: readonly string[]): void {
    const wrapped = new Map(names.map((name) => [new URL(`${name}/handler.ts`, functionsDir).href, name]));
    const key = `__fanoutBenchWrap_${process.pid}`;
    (globalThis as unknown as Record<string, unknown>)[key] = (name: string, inner: AnyHandler) =>
      this.wrap(name, inner);
    registerHooks({
      load: (url, context, nextLoad) => {
        const name = wrapped.get(url);
        if (name === undefined) return nextLoad(url, context);
        return {
          format: 'module',
          shortCircuit: true,
          source:
            `import { handler as inner } from ${JSON.stringify(`${url}?measured`)};\n` +
            `export const handler = globalThis[${JSON.stringify(key)}](${JSON.stringify(name)}, inner);\n`,
        };
      },
    });
    const charge = (now: number): void => {
      const top = this.#stack.at(-1);
      if (top !== undefined) top.cpuMs += (now - this.#mark) / 1000;
      this.#mark = now;
    };
    createHook({
      init: (_id, _type, _trigger, resource) => {
        const current = (executionAsyncResource() as Tagged)[TAG];
        if (current !== undefined) (resource as Tagged)[TAG] = current;
      },
      before: () => {
        charge(cpuNowUs());
        this.#stack.push((executionAsyncResource() as Tagged)[TAG]);
      },
      after: () => {
        charge(cpuNowUs());
        this.#stack.pop();
      },
    }).enable();
  }

  wrap(name: string, inner: AnyHandler): AnyHandler {
    return (event, context) => {
      const records = (event as { Records?: unknown[] }).Records?.length ?? 0;
      const invocation: Invocation = {
        fn: name,
        phase: this.phase,
        wallMs: 0,
        cpuMs: 0,
        failed: false,
        records,
      };
      const resource = new AsyncResource('FANOUT_BENCH_INVOCATION');
      (resource as unknown as Tagged)[TAG] = invocation;
      const started = performance.now();
      const settle = () => {
        invocation.wallMs = performance.now() - started;
        this.invocations.push(invocation);
      };
      return resource
        .runInAsyncScope(() => inner(event, context))
        .then(
          (result) => {
            settle();
            return result;
          },
          (error: unknown) => {
            invocation.failed = true;
            settle();
            throw error;
          },
        );
    };
  }
}
