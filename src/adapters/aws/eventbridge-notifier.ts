import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type JobNotice, JobNoticeType, type JobNotifier } from '../../ports/job-notifier.ts';

/** The `source` of every Fanout event on EventBridge. */
export const EVENT_SOURCE = 'fanout';

/** The detail-type of a job's end: `completed_with_failures` is a completion whose detail says the rest. */
export const DETAIL_TYPES: Partial<Record<string, string>> = {
  [JobNoticeType.completed]: 'Job Completed',
  [JobNoticeType.failed]: 'Job Failed',
  [JobNoticeType.cancelled]: 'Job Cancelled',
};

/**
 * Puts a job's end on an EventBridge bus (`source: fanout`, the job's view as the detail), for rules to
 * route; progress notices are not events. A put that fails is reported to `onError` and not retried here.
 */
export class EventBridgeNotifier implements JobNotifier {
  readonly #client: EventBridgeClient;
  readonly #bus: string;
  readonly #onError: (error: unknown, notice: JobNotice) => void;

  constructor(client: EventBridgeClient, bus: string, onError: (error: unknown, notice: JobNotice) => void) {
    this.#client = client;
    this.#bus = bus;
    this.#onError = onError;
  }

  async notify(notice: JobNotice): Promise<void> {
    const detailType = DETAIL_TYPES[notice.type];
    if (detailType === undefined) return;
    try {
      const answer = await this.#client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.#bus,
              Source: EVENT_SOURCE,
              DetailType: detailType,
              Detail: JSON.stringify(notice.job),
              Resources: [],
            },
          ],
        }),
      );
      if ((answer.FailedEntryCount ?? 0) > 0) {
        const entry = answer.Entries?.[0];
        throw new Error(`EventBridge refused the event: ${entry?.ErrorCode} ${entry?.ErrorMessage}`);
      }
    } catch (error) {
      this.#onError(error, notice);
    }
  }
}
