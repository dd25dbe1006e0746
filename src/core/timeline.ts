import { TaskState } from './constants.ts';
import type { TaskRecord } from './task.ts';

/** The most buckets a timeline has: enough for a chart, few enough to send every second. */
export const MAX_TIMELINE_BUCKETS = 120;

/** Bucket widths a timeline chooses from, in seconds; past the last, doubling. */
const BUCKET_SECONDS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400,
];

export interface TimelineBucket {
  /** The bucket's start. */
  at: string;
  /** Tries that ended in it. */
  tries: number;
  completed: number;
  /** Tries that ended failed or retrying. */
  failed: number;
}

/** `GET /jobs/{id}/timeline`. */
export interface Timeline {
  jobId: string;
  bucketMs: number;
  buckets: TimelineBucket[];
}

/** The narrowest width that spans `from` to `to` (from's bucket to to's) in `MAX_TIMELINE_BUCKETS`. */
const bucketMsFor = (from: number, to: number): number => {
  const fits = (ms: number) => Math.floor(to / ms) - Math.floor(from / ms) < MAX_TIMELINE_BUCKETS;
  const listed = BUCKET_SECONDS.find((seconds) => fits(seconds * 1000));
  if (listed !== undefined) return listed * 1000;
  let ms = (BUCKET_SECONDS.at(-1) as number) * 1000;
  while (!fits(ms)) ms *= 2;
  return ms;
};

/**
 * A job's tries by the time they ended, in buckets of a whole number of seconds aligned to the epoch,
 * from its first try's start to its last try's end, or to `now` while a try runs. The same on every
 * runtime: it needs only the task records.
 */
export const jobTimeline = (jobId: string, tasks: readonly TaskRecord[], now: number): Timeline => {
  const attempts = tasks.flatMap((task) => task.attempts);
  if (attempts.length === 0) return { jobId, bucketMs: 1000, buckets: [] };
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const { startedAt, endedAt } of attempts) {
    from = Math.min(from, startedAt);
    to = Math.max(to, startedAt, endedAt ?? now);
  }
  const bucketMs = bucketMsFor(from, to);
  const first = Math.floor(from / bucketMs);
  const buckets = Array.from({ length: Math.floor(to / bucketMs) - first + 1 }, (_, i) => ({
    at: new Date((first + i) * bucketMs).toISOString(),
    tries: 0,
    completed: 0,
    failed: 0,
  }));
  for (const { endedAt, outcome } of attempts) {
    if (endedAt === undefined) continue;
    // Clamped: the clocks of a cloud's functions may disagree by a little.
    const index = Math.min(Math.max(Math.floor(endedAt / bucketMs) - first, 0), buckets.length - 1);
    const bucket = buckets[index] as TimelineBucket;
    bucket.tries++;
    if (outcome === TaskState.completed) bucket.completed++;
    else if (outcome === TaskState.failed || outcome === TaskState.retrying) bucket.failed++;
  }
  return { jobId, bucketMs, buckets };
};
