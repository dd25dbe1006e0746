import type { Balancer } from '../core/balancer.ts';
import type { Strategy } from '../core/constants.ts';
import { TargetUnavailableError } from '../core/errors.ts';
import type { Queue } from '../ports/queue.ts';
import type { ChunkMessage } from './messages.ts';

export interface Route {
  message: ChunkMessage;
  /** The target that just failed this chunk: passed over whenever another one accepts work. */
  avoid?: string;
  delayMs?: number;
}

/**
 * Sends tries to the targets' queues: the balancer picks each one's target among the job's, and the
 * sends to one queue go out together. A target is any queue (SQS, Pub/Sub), which is what lets a retry
 * move to the other cloud.
 */
export class Router {
  readonly #balancer: Balancer;
  readonly #queues: ReadonlyMap<string, Queue<ChunkMessage>>;

  constructor(balancer: Balancer, queues: ReadonlyMap<string, Queue<ChunkMessage>>) {
    this.#balancer = balancer;
    this.#queues = queues;
  }

  get targets(): string[] {
    return [...this.#queues.keys()];
  }

  async send(routes: readonly Route[], among: readonly string[], strategy: Strategy): Promise<string[]> {
    const byTarget = new Map<string, { body: ChunkMessage; delayMs: number }[]>();
    const chosen: string[] = [];
    const routedAt = Date.now();
    for (const { message, avoid, delayMs = 0 } of routes) {
      const target = this.#balancer.pick({ among, strategy, ...(avoid !== undefined && { avoid }) });
      if (target === undefined || !this.#queues.has(target))
        throw new TargetUnavailableError(among.join(', '));
      // The work is counted while it is handed over; the processor on the other side reports its health.
      this.#balancer.release(target, 'neutral', routedAt);
      chosen.push(target);
      const sends = byTarget.get(target) ?? [];
      sends.push({ body: { ...message, routedAt }, delayMs });
      byTarget.set(target, sends);
    }
    await Promise.all([...byTarget].map(([target, sends]) => this.#queues.get(target)?.send(sends)));
    return chosen;
  }
}
