import { useState } from 'preact/hooks';
import { age, percent, shortId, statusLabel, usd } from './format.ts';
import { Pager } from './pager.tsx';
import { ScrollBox } from './scroll-box.tsx';
import type { Service } from './service.ts';
import { JOB_STATUSES } from './types.ts';
import { ViewHeader } from './view-header.tsx';

/** Rows on the page at once: the table never holds the whole list. */
const PAGE_ROWS = 50;

/** Every job, newest first, a page of rows at a time, filtered by status. */
export const JobsList = ({ service }: { service: Service }) => {
  const [status, setStatus] = useState('');
  const [page, setPage] = useState(0);
  const shown = status === '' ? service.jobs : service.jobs.filter((job) => job.status === status);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
  const current = Math.min(page, pages - 1);
  const rows = shown.slice(current * PAGE_ROWS, (current + 1) * PAGE_ROWS);
  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Jobs" service={service} />
      <label class="filter">
        Status{' '}
        <select
          value={status}
          onChange={(event) => {
            setStatus(event.currentTarget.value);
            setPage(0);
          }}
        >
          <option value="">all</option>
          {JOB_STATUSES.map((name) => (
            <option key={name} value={name}>
              {statusLabel(name)}
            </option>
          ))}
        </select>
      </label>
      <ScrollBox label="Jobs table">
        <table>
          <caption>Jobs</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Chunks done</th>
              <th scope="col">of</th>
              <th scope="col">Failed</th>
              <th scope="col">Age</th>
              <th scope="col">Lane</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((job) => (
              <tr key={job.jobId} data-job-id={job.jobId}>
                <th scope="row">
                  <a href={`#/jobs/${encodeURIComponent(job.jobId)}`} title={job.jobId}>
                    {shortId(job.jobId)}
                  </a>
                </th>
                <td data-field="status">{job.status}</td>
                <td>{percent(job.percentComplete / 100)}</td>
                <td data-field="chunksCompleted">{job.chunksCompleted}</td>
                <td>{job.chunksTotal ?? '—'}</td>
                <td>{job.chunksFailed}</td>
                <td title={job.createdAt}>{age(job.createdAt)}</td>
                <td>{job.priority}</td>
                <td>{usd(job.stats?.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      {shown.length === 0 && <p>No jobs{status === '' ? '' : ` ${statusLabel(status)}`}.</p>}
      <Pager
        label="Jobs pages"
        page={current}
        hasNext={current + 1 < pages}
        summary={` of ${pages} (${shown.length} jobs)`}
        onPage={setPage}
      />
    </section>
  );
};
