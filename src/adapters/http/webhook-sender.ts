import { setTimeout as sleep } from 'node:timers/promises';
import type { JobNotice, JobNotifier } from '../../ports/job-notifier.ts';
import { webhookHeaders } from '../../util/standard-webhooks.ts';

export interface WebhookSenderOptions {
  /** The `whsec_…` secret every webhook is signed with. */
  secret: string;
  /** Tries of one webhook before it is given up. @default 5 */
  attempts?: number;
  /** The wait before the second try; each later one waits twice the one before. @default 1000 */
  firstDelayMs?: number;
  /** How long one try may take. @default 10000 */
  timeoutMs?: number;
  /** A webhook given up, with the last reason. @default writes it to stderr */
  onGiveUp?: (notice: JobNotice, reason: string) => void;
}

/**
 * Sends a notice to its job's `callbackUrl` as a Standard Webhooks message: `{type, timestamp, data}`
 * signed in `webhook-signature`, with the notice's id in `webhook-id` on every try. A try that gets no
 * 2xx is tried again after 1 s, 2 s, 4 s, …; nothing waits on it but `drain`.
 */
export class WebhookSender implements JobNotifier {
  readonly #options: Required<Omit<WebhookSenderOptions, 'onGiveUp'>> &
    Pick<WebhookSenderOptions, 'onGiveUp'>;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: WebhookSenderOptions) {
    this.#options = { attempts: 5, firstDelayMs: 1000, timeoutMs: 10_000, ...options };
  }

  notify(notice: JobNotice): Promise<void> {
    if (notice.callbackUrl === undefined) return Promise.resolve();
    const sending = this.#send(notice, notice.callbackUrl).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
    return sending;
  }

  /** Waits for the webhooks under way, for up to `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const timer = new AbortController();
    await Promise.race([
      Promise.all(this.#inFlight),
      sleep(timeoutMs, undefined, { signal: timer.signal }).catch(() => {}),
    ]);
    timer.abort();
  }

  async #send(notice: JobNotice, url: string): Promise<void> {
    const body = JSON.stringify({ type: notice.type, timestamp: new Date().toISOString(), data: notice.job });
    let reason = '';
    for (let attempt = 1; attempt <= this.#options.attempts; attempt++) {
      if (attempt > 1) await sleep(this.#options.firstDelayMs * 2 ** (attempt - 2));
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: webhookHeaders(this.#options.secret, notice.id, body),
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.#options.timeoutMs),
        });
        await response.body?.cancel();
        if (response.ok) return;
        reason = `answered ${response.status}`;
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
    }
    const giveUp =
      this.#options.onGiveUp ??
      ((n: JobNotice, why: string) =>
        console.error(`webhook ${n.id} to ${url} given up after ${this.#options.attempts} tries: ${why}`));
    giveUp(notice, reason);
  }
}
