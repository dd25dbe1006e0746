import type { JobView } from '../core/job.ts';

/** What a job's end (or, when asked, its progress) is told as. */
export const JobNoticeType = {
  completed: 'job.completed',
  failed: 'job.failed',
  cancelled: 'job.cancelled',
  progress: 'job.progress',
} as const;
export type JobNoticeType = (typeof JobNoticeType)[keyof typeof JobNoticeType];

/** One notice of a job: the same `id` for every delivery of it, so receivers can drop repeats. */
export interface JobNotice {
  id: string;
  type: JobNoticeType;
  job: JobView;
  /** Where the job asked to be called back, when it did. */
  callbackUrl?: string;
}

/** Tells the world about a job: a webhook, an EventBridge event, a Pub/Sub message. */
export interface JobNotifier {
  /** Settles once the notice was delivered or given up; never rejects. */
  notify(notice: JobNotice): Promise<void>;
}
