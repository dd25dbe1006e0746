import { useState } from 'preact/hooks';
import { announce } from './announce.ts';
import { messageOf, request } from './api.ts';
import { shortId, statusLabel } from './format.ts';
import { type FeedState, useEventSource } from './live.ts';
import type { JobView, Targets } from './types.ts';

/** The service as the page sees it: every job (newest first) and every target, kept live by GET /events. */
export interface Service {
  jobs: JobView[];
  /** Undefined until known, or when the server has no GET /targets. */
  targets: Targets | undefined;
  feed: FeedState;
  /** Why jobs or targets could not be read, when they could not. */
  problem?: string;
  /** Reads jobs and targets again where they are not live; nothing while they are. */
  refresh: () => void;
}

const newestFirst = (a: JobView, b: JobView) => b.createdAt.localeCompare(a.createdAt);

/**
 * Opens GET /events for the page's lifetime. Where the server has no such stream, reads GET /jobs (up to
 * 1000) and GET /targets instead, again on `refresh`, and says that live updates are not available.
 */
export const useService = (): Service => {
  const [jobs, setJobs] = useState<JobView[]>([]);
  const [targets, setTargets] = useState<Targets | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const readOnce = () => {
    request<{ jobs: JobView[] }>('/jobs?limit=1000')
      .then((page) => setJobs(page.jobs.toSorted(newestFirst)))
      .catch((error) => setProblem(`jobs not available: ${messageOf(error)}`));
    request<{ targets: Targets }>('/targets')
      .then((answer) => setTargets(answer.targets))
      .catch((error) => setProblem(`targets not available: ${messageOf(error)}`));
  };
  const { state } = useEventSource(
    '/events',
    {
      snapshot: (data) => {
        const snapshot = data as { jobs: JobView[]; targets: Targets };
        setJobs(snapshot.jobs.toSorted(newestFirst));
        setTargets(snapshot.targets);
        setProblem(undefined);
      },
      job: (data) => {
        const job = data as JobView;
        setJobs((known) => {
          const before = known.find((other) => other.jobId === job.jobId);
          if (before !== undefined && before.status !== job.status) {
            announce(`Job ${shortId(job.jobId)} is ${statusLabel(job.status)}`);
          }
          const others = known.filter((other) => other.jobId !== job.jobId);
          return [...others, job].sort(newestFirst);
        });
      },
      removed: (data) => {
        const { jobId } = data as { jobId: string };
        setJobs((known) => known.filter((job) => job.jobId !== jobId));
      },
      targets: (data) => setTargets((data as { targets: Targets }).targets),
    },
    readOnce,
  );
  const refresh = () => {
    if (state === 'unavailable') readOnce();
  };
  return { jobs, targets, feed: state, refresh, ...(problem !== undefined && { problem }) };
};
