import type { Topic } from '@google-cloud/pubsub';
import { type JobNotice, JobNoticeType, type JobNotifier } from '../../ports/job-notifier.ts';

/**
 * Publishes a job's end to a Pub/Sub topic: `{type, job}` as JSON, with `type`, `jobId` and `status` as
 * attributes for subscription filters. Progress notices are not published. A publish that fails is
 * reported to `onError`.
 */
export class PubSubNotifier implements JobNotifier {
  readonly #topic: Pick<Topic, 'publishMessage'>;
  readonly #onError: (error: unknown, notice: JobNotice) => void;

  constructor(topic: Pick<Topic, 'publishMessage'>, onError: (error: unknown, notice: JobNotice) => void) {
    this.#topic = topic;
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
