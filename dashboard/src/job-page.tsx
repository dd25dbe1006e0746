import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { announce } from './announce.ts';
import { jobPath, messageOf, request } from './api.ts';
import { FailedChunks } from './failed-chunks.tsx';
import { shortId, statusLabel } from './format.ts';
import { JobActions, JobCounts } from './job-summary.tsx';
import { JobDurations, JobTargets, Redistributions } from './job-targets.tsx';
import { describeFeed, throttle, useEventSource } from './live.ts';
import { ThroughputChart } from './throughput-chart.tsx';
import type { JobView, Redistribution, Timeline } from './types.ts';

/** The job is read again at most this often, however fast its events come. */
const JOB_READ_MS = 500;
/** The timeline is read again at most this often. */
const TIMELINE_READ_MS = 2000;

/** One job, live: GET /jobs/{id} read again on its `progress` and `end` events, never on a timer. */
export const JobPage = ({ jobId }: { jobId: string }) => {
  const [job, setJob] = useState<JobView | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [moves, setMoves] = useState<Redistribution[]>([]);
  const [timeline, setTimeline] = useState<Timeline | undefined>(undefined);
  const [timelineProblem, setTimelineProblem] = useState<string | undefined>(undefined);
  /** Bumped by a re-run: the job's events go on after their first `end`. */
  const [run, setRun] = useState(0);
  const status = useRef<string | undefined>(undefined);
  const reads = useMemo(() => {
    const readJob = throttle(() => {
      request<JobView>(jobPath(jobId))
        .then((read) => {
          if (status.current !== undefined && status.current !== read.status) {
            announce(`Job ${shortId(jobId)} is ${statusLabel(read.status)}`);
          }
          status.current = read.status;
          setJob(read);
          setProblem(undefined);
        })
        .catch((error) => setProblem(messageOf(error)));
    }, JOB_READ_MS);
    const readTimeline = throttle(() => {
      request<Timeline>(`${jobPath(jobId)}/timeline`)
        .then(setTimeline)
        .catch((error) => setTimelineProblem(messageOf(error)));
    }, TIMELINE_READ_MS);
    return { readJob, readTimeline };
  }, [jobId]);
  useEffect(() => {
    status.current = undefined;
    setJob(undefined);
    setMoves([]);
    setTimeline(undefined);
    setTimelineProblem(undefined);
    reads.readJob();
    reads.readTimeline();
    return () => {
      reads.readJob.cancel();
      reads.readTimeline.cancel();
    };
  }, [reads]);
  const onProgress = () => {
    reads.readJob();
    reads.readTimeline();
  };
  // The fragment is never sent: a new one only makes a new stream, which replays the log from its start.
  const events = useEventSource(`${jobPath(jobId)}/events#${run}`, {
    progress: onProgress,
    // A stream opened after a re-run replays the first run's `end` before the re-run's events: only the
    // end the job still stands at closes it.
    end: (data) => {
      onProgress();
      const ended = (data as JobView).completedAt;
      request<JobView>(jobPath(jobId))
        .then((now) => {
          if (now.completedAt !== null && now.completedAt === ended) events.stop();
        })
        .catch((error) => setProblem(messageOf(error)));
    },
    redistribution: (data) => {
      const move = data as Redistribution;
      setMoves((known) =>
        known.some((other) => other.index === move.index && other.attempt === move.attempt)
          ? known
          : [...known, move],
      );
    },
  });
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title" tabIndex={-1}>
        Job {jobId}
      </h2>
      <p class="feed">{describeFeed(events.state)}</p>
      {problem !== undefined && <p role="alert">Not available: {problem}</p>}
      {job !== undefined && (
        <>
          <JobCounts job={job} />
          <JobActions
            job={job}
            onChanged={() => {
              reads.readJob();
              setRun((count) => count + 1);
            }}
          />
          <JobTargets stats={job.stats} />
          <Redistributions moves={moves} available={events.state !== 'unavailable'} />
          <h3>Try durations</h3>
          <JobDurations stats={job.stats} />
          <h3>Throughput</h3>
          <ThroughputChart
            {...(timeline !== undefined && { timeline })}
            {...(timelineProblem !== undefined && { problem: timelineProblem })}
          />
          <FailedChunks jobId={jobId} failed={job.chunksFailed} />
        </>
      )}
    </section>
  );
};
