import type { PubSub, Topic } from '@google-cloud/pubsub';
import { type JobNotice, JobNoticeType, type JobNotifier } from '../../ports/job-notifier.ts';

/**
 * Publishes a job's end to a Pub/Sub topic: `{type, job}` as JSON, with `type`, `jobId` and `status` as
 * attributes for subscription filters. Progress notices are not published. A publish that fails is
 * reported to `onError`.
 */
export class PubSubNotifier implements JobNotifier {
  readonly #topic: Pick<Topic, 'publishMessage'>;
  readonly #onError: (error: unknown, notice: JobNotice) => void;

  /**
   * A publish to topic `name` gives up after `timeoutMs`, untried again: a Pub/Sub that stopped answering
   * must not hold the stats function (its client retries for a minute otherwise).
   */
  constructor(
    pubsub: PubSub,
    name: string,
    timeoutMs: number,
    onError: (error: unknown, notice: JobNotice) => void,
  ) {
    this.#topic = pubsub.topic(name, { gaxOpts: { timeout: timeoutMs, retry: null } });
    this.#onError = onError;
  }

  async notify(notice: JobNotice): Promise<void> {
    if (notice.type === JobNoticeType.progress) return;
    try {
      await this.#topic.publishMessage({
        json: { type: notice.type, job: notice.job },
        attributes: { type: notice.type, jobId: notice.job.jobId, status: notice.job.status },
      });
    } catch (error) {
      this.#onError(error, notice);
    }
  }
}
