import { WebhookSender } from '../adapters/http/webhook-sender.ts';
import type { Config } from '../config/schema.ts';
import type { JobView } from '../core/job.ts';
import { JobEventType } from '../core/job-events.ts';
import { endNotice, progressNotice } from '../lifecycle/job-notices.ts';
import type { JobNotifier } from '../ports/job-notifier.ts';
import type { Engine } from './engine.ts';
import type { EngineJobEvents } from './engine-job-events.ts';

/** How long a follower waits quietly before it checks again that its job still exists. */
const IDLE_MS = 60_000;

/**
 * The engine's notices: for each job submitted with a `callbackUrl`, one notice when it ends and, with
 * `notify=progress`, one of its progress at most every `progressIntervalMs`, read from the job's event
 * log. Nothing here holds a job up: the notifier sends on its own time.
 */
export const notifyJobEnds = (
  engine: Engine,
  events: EngineJobEvents,
  notifier: JobNotifier,
  progressIntervalMs: number,
): (() => void) => {
  const follow = async (jobId: string): Promise<void> => {
    const request = engine.describe(jobId)?.request;
    const url = request?.callbackUrl;
    const log = await events.log(jobId);
    if (url === undefined || log === undefined) return;
    let sentAt = 0;
    let sequence = 0;
    for await (const event of log.follow(0, IDLE_MS)) {
      if (event?.type === JobEventType.end) {
        void notifier.notify(endNotice(event.data as unknown as JobView, url));
        return;
      }
      if (event?.type !== JobEventType.progress || request?.notify !== 'progress') continue;
      const view = engine.getJob(jobId);
      if (view === undefined || Date.now() - sentAt < progressIntervalMs) continue;
      sentAt = Date.now();
      void notifier.notify(progressNotice(view, ++sequence, url));
    }
  };
  const submitted = ({ jobId }: { jobId: string }) => void follow(jobId);
  engine.events.on('submitted', submitted);
  return () => engine.events.off('submitted', submitted);
};

/** The webhook sender the settings describe; without a secret no job may ask for one, so it sends none. */
export const startWebhooks = (config: Config): WebhookSender =>
  new WebhookSender({
    secret: config.notify.webhook_secret,
    attempts: config.notify.webhook_attempts,
  });
