import type { JobView } from '../core/job.ts';
import { type JobNotice, JobNoticeType, type JobNotifier } from '../ports/job-notifier.ts';

/** The notice type of a job's end: `completed_with_failures` is a completion whose status says the rest. */
export const endNoticeType = (status: string): JobNoticeType =>
  status === 'failed'
    ? JobNoticeType.failed
    : status === 'cancelled'
      ? JobNoticeType.cancelled
      : JobNoticeType.completed;

/** The one notice of a job's end; its id is the job's, so every delivery of it is one message. */
export const endNotice = (job: JobView, callbackUrl?: string): JobNotice => ({
  id: `msg_${job.jobId}_end`,
  type: endNoticeType(job.status),
  job,
  ...(callbackUrl !== undefined && { callbackUrl }),
});

/** A progress notice, numbered within its job. */
export const progressNotice = (job: JobView, sequence: number, callbackUrl: string): JobNotice => ({
  id: `msg_${job.jobId}_progress_${sequence}`,
  type: JobNoticeType.progress,
  job,
  callbackUrl,
});

/** Every notifier hears every notice; each one settles on its own. */
export const allNotifiers = (notifiers: readonly JobNotifier[]): JobNotifier => ({
  notify: async (notice) => {
    await Promise.all(notifiers.map((n) => n.notify(notice)));
  },
});
