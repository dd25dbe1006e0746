import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { PubSub } from '@google-cloud/pubsub';
import { EventBridgeNotifier } from '../adapters/aws/eventbridge-notifier.ts';
import { PubSubNotifier } from '../adapters/gcp/pubsub-notifier.ts';
import { WebhookSender } from '../adapters/http/webhook-sender.ts';
import type { Costing } from '../core/cost/costing.ts';
import type { JobView } from '../core/job.ts';
import { isEndStatus } from '../core/job-events.ts';
import { allNotifiers, endNotice } from '../lifecycle/job-notices.ts';
import type { JobNotifier } from '../ports/job-notifier.ts';
import type { StatsReader } from '../ports/stats-reader.ts';
import type { TaskStore } from '../ports/task-store.ts';
import { readJobView } from './job-views.ts';

/**
 * The cloud's end notices: the stats function hands over the jobs it saw end, and each one whose end
 * was not announced yet is claimed on its record (`notifiedAt`, a conditional write) and announced by
 * the one caller whose claim held, however many batches or retries saw it end.
 */
export class JobEnds {
  readonly #tasks: Pick<TaskStore, 'claimEndNotice' | 'getJob'>;
  readonly #view: (jobId: string) => Promise<JobView | undefined>;
  readonly #notifier: JobNotifier;
  readonly #onError: (error: unknown, jobId: string) => void;

  constructor(
    tasks: Pick<TaskStore, 'claimEndNotice' | 'getJob'>,
    view: (jobId: string) => Promise<JobView | undefined>,
    notifier: JobNotifier,
    onError: (error: unknown, jobId: string) => void,
  ) {
    this.#tasks = tasks;
    this.#view = view;
    this.#notifier = notifier;
    this.#onError = onError;
  }

  /** Announces the jobs of `jobIds` that have ended; the ids of those announced now. */
  async announce(jobIds: Iterable<string>): Promise<string[]> {
    const announced = await Promise.all(
      [...new Set(jobIds)].map((jobId) =>
        this.#announce(jobId).catch((error: unknown) => {
          // The stats are applied already: failing the batch would not see this end again.
          this.#onError(error, jobId);
          return undefined;
        }),
      ),
    );
    return announced.filter((jobId): jobId is string => jobId !== undefined);
  }

  async #announce(jobId: string): Promise<string | undefined> {
    const view = await this.#view(jobId);
    if (view === undefined || !isEndStatus(view.status)) return undefined;
    if (!(await this.#tasks.claimEndNotice(jobId, Date.now()))) return undefined;
    const callbackUrl = (await this.#tasks.getJob(jobId))?.options.callbackUrl;
    await this.#notifier.notify(endNotice(view, typeof callbackUrl === 'string' ? callbackUrl : undefined));
    return jobId;
  }
}

/** A publish of a job's end that takes longer fails: the stats function goes on without it. */
const PUBLISH_TIMEOUT_MS = 5000;

export interface CloudJobEndsOptions {
  tasks: Pick<TaskStore, 'claimEndNotice' | 'getJob'>;
  stats: Pick<StatsReader, 'jobStats'>;
  /** How the job views in the notices price their tries. */
  costing: Costing;
  /** Where ends go as events, when they do: a client and a bus name (`default`). */
  eventBridge?: { client: EventBridgeClient; bus: string };
  /** The Pub/Sub topic ends are published to, when a Google project is part of the deployment. */
  topic?: { pubsub: PubSub; name: string };
  /** `notify.webhook_secret` and `notify.webhook_attempts`: webhooks to `callbackUrl`s, when a secret is set. */
  webhooks: { secret: string; attempts: number };
  onError: (error: unknown, jobId: string) => void;
}

/** The stats function's end notices: EventBridge, the Google topic, and the webhooks jobs asked for. */
export const cloudJobEnds = (options: CloudJobEndsOptions): JobEnds => {
  const { tasks, stats, costing, eventBridge, topic, webhooks, onError } = options;
  const notifiers = [
    ...(topic
      ? [
          new PubSubNotifier(topic.pubsub, topic.name, PUBLISH_TIMEOUT_MS, (error, notice) =>
            onError(error, notice.job.jobId),
          ),
        ]
      : []),
    ...(eventBridge
      ? [
          new EventBridgeNotifier(eventBridge.client, eventBridge.bus, (error, notice) =>
            onError(error, notice.job.jobId),
          ),
        ]
      : []),
    ...(webhooks.secret !== ''
      ? [
          new WebhookSender({
            ...webhooks,
            onGiveUp: (notice, reason) => onError(new Error(`webhook given up: ${reason}`), notice.job.jobId),
          }),
        ]
      : []),
  ];
  return new JobEnds(
    tasks,
    (jobId) => readJobView(tasks, stats, costing, jobId),
    allNotifiers(notifiers),
    onError,
  );
};
