import { useState } from 'preact/hooks';
import { jobPath, messageOf, request } from './api.ts';
import { statusLabel } from './format.ts';
import type { JobView } from './types.ts';

/** The job's progress bar and counts; each count's text is the number alone. */
export const JobCounts = ({ job }: { job: JobView }) => {
  const counts: [string, string, number | string][] = [
    ['status', 'Status', job.status],
    ['chunksTotal', 'Chunks', job.chunksTotal ?? '—'],
    ['chunksCompleted', 'Completed', job.chunksCompleted],
    ['chunksFailed', 'Failed', job.chunksFailed],
    ['chunksCancelled', 'Cancelled', job.chunksCancelled],
    ['attempts', 'Tries', job.stats?.attempts ?? 0],
    ['retries', 'Retries', job.stats?.retries ?? 0],
    ['redistributed', 'Redistributed', job.stats?.redistributed ?? 0],
  ];
  return (
    <>
      <div
        class="progress"
        role="progressbar"
        aria-label="Progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={job.percentComplete}
        aria-valuetext={`${job.percentComplete}%, ${statusLabel(job.status)}`}
      >
        <div class={`bar ${job.status}`} style={{ width: `${job.percentComplete}%` }} />
      </div>
      <dl class="counts" data-job-summary>
        {counts.map(([field, label, value]) => (
          <div key={field}>
            <dt>{label}</dt>
            <dd data-field={field}>{value}</dd>
          </div>
        ))}
      </dl>
      {job.error !== undefined && <p class="error">Failed as a whole: {job.error}</p>}
    </>
  );
};

/**
 * Cancel, re-run failed chunks, download the result. The buttons are always there: the API says why it
 * refuses (a re-run of a running job, say), and its detail goes to the alert region.
 */
export const JobActions = ({ job, onChanged }: { job: JobView; onChanged: () => void }) => {
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const act = (method: string, path: string) => async () => {
    setRefusal(undefined);
    try {
      await request(path, { method });
      onChanged();
    } catch (error) {
      setRefusal(messageOf(error));
    }
  };
  return (
    <div class="actions">
      <button type="button" onClick={act('DELETE', jobPath(job.jobId))}>
        Cancel job
      </button>
      <button type="button" onClick={act('POST', `${jobPath(job.jobId)}/retry`)}>
        Re-run failed chunks
      </button>
      <a href={`${jobPath(job.jobId)}/result`} download={`${job.jobId}.result`}>
        Download result
      </a>
      <div role="alert" class="alert">
        {refusal !== undefined && `Refused: ${refusal}`}
      </div>
    </div>
  );
};
