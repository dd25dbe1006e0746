import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs the reconcile function every `intervalMs`, one run at a time, as EventBridge Scheduler does on AWS.
 * A run that fails is told to `onError`; the next one comes at its time.
 */
export class ReconcileTimer {
  readonly #run: () => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(run: () => Promise<unknown>, intervalMs: number, onError: (error: unknown) => void) {
    this.#run = run;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  start(): void {
    this.#stop = new AbortController();
    this.#loop ??= this.#every();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #every(): Promise<void> {
    const { signal } = this.#stop;
    while (!signal.aborted) {
      const slept = await sleep(this.#intervalMs, true, { signal }).catch(() => false);
      if (!slept) return;
      await this.#run().catch(this.#onError);
    }
  }
}
