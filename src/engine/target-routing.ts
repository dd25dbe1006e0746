import { setTimeout as sleep } from 'node:timers/promises';
import type { Balancer } from '../core/balancer.ts';
import type { Priority } from '../core/constants.ts';
import type { TargetDispatch } from './dispatch.ts';
import type { JobRun } from './job-run.ts';
import type { TaskMessage } from './messages.ts';

/** The engine's targets by name, and how a try reaches one: the balancer picks, the target's lane queue takes it. */
export class TargetRouting {
  readonly #balancer: Balancer;
  readonly #dispatches = new Map<string, TargetDispatch>();
  readonly #closing: () => boolean;

  constructor(balancer: Balancer, closing: () => boolean) {
    this.#balancer = balancer;
    this.#closing = closing;
  }

  add(dispatch: TargetDispatch): void {
    this.#dispatches.set(dispatch.name, dispatch);
  }

  get names(): string[] {
    return [...this.#dispatches.keys()];
  }

  get dispatches(): TargetDispatch[] {
    return [...this.#dispatches.values()];
  }

  get(name: string): TargetDispatch {
    return this.#dispatches.get(name) as TargetDispatch;
  }

  /**
   * Routes a try to a target the balancer picks, into the job's lane, waiting for a breaker to half-open
   * if all are open; a try routed while the engine closes is dropped, as its queue would be.
   */
  async send(job: JobRun, message: TaskMessage, avoid: string | undefined, delayMs: number): Promise<void> {
    const { targets: among, strategy } = job.request;
    for (;;) {
      const target = this.#balancer.pick({ avoid, among, strategy, bytes: message.bytes });
      if (target !== undefined) {
        const routed = { ...message, routedAt: Date.now() };
        return this.get(target).queue.send(job.priority, [{ body: routed, delayMs }]);
      }
      if (this.#closing()) return;
      await sleep(Math.max(25, this.#balancer.nextProbeAt(among) - Date.now()));
    }
  }

  /** Messages waiting in each target's queues, by lane. */
  async depths(): Promise<Record<string, Record<Priority, number>>> {
    const dispatches = this.dispatches;
    const depths = await Promise.all(dispatches.map((t) => t.queue.depths()));
    return Object.fromEntries(dispatches.map((t, i) => [t.name, depths[i] as Record<Priority, number>]));
  }
}
