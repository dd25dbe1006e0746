import { useEffect, useState } from 'preact/hooks';
import { jobPath, messageOf, request, withQuery } from './api.ts';
import { Pager } from './pager.tsx';
import { ScrollBox } from './scroll-box.tsx';
import type { Attempt, TaskPage } from './types.ts';

/** Failed chunks on the page at once; the rest is a cursor away. */
const PAGE_TASKS = 50;

const Try = ({ attempt }: { attempt: Attempt }) => (
  <li>
    try {attempt.attempt} on {attempt.target}: {attempt.outcome}
    {attempt.error !== undefined && ` (${attempt.error.name}: ${attempt.error.message})`}
  </li>
);

/**
 * The job's failed chunks, a page at a time from GET /jobs/{id}/tasks?status=failed&limit=50, with why each
 * failed and its tries. Read again when `failed` (the job's count) changes.
 */
export const FailedChunks = ({ jobId, failed }: { jobId: string; failed: number }) => {
  /** The cursor of each page read so far: the first page has none. */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState(0);
  const [answer, setAnswer] = useState<TaskPage | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (failed === 0) return setAnswer({ tasks: [], nextCursor: null });
    let current = true;
    const path = withQuery(`${jobPath(jobId)}/tasks`, {
      status: 'failed',
      limit: PAGE_TASKS,
      cursor: cursors[page],
    });
    request<TaskPage>(path)
      .then((read) => {
        if (!current) return;
        setAnswer(read);
        setProblem(undefined);
      })
      .catch((error) => current && setProblem(messageOf(error)));
    return () => {
      current = false;
    };
  }, [jobId, failed, page, cursors]);
  const next = answer?.nextCursor ?? null;
  const turn = (to: number) => {
    if (to > page && next !== null) setCursors((known) => [...known.slice(0, to), next]);
    setPage(to);
  };
  return (
    <>
      {problem !== undefined && <p>Failed chunks not available: {problem}</p>}
      <ScrollBox label="Failed chunks table">
        <table>
          <caption>Failed chunks</caption>
          <thead>
            <tr>
              <th scope="col">Chunk</th>
              <th scope="col">Error</th>
              <th scope="col">Tries</th>
            </tr>
          </thead>
          <tbody>
            {(answer?.tasks ?? []).slice(0, PAGE_TASKS).map((task) => (
              <tr key={task.index} data-index={task.index}>
                <th scope="row">{task.index}</th>
                <td class="message">{task.error?.message ?? '—'}</td>
                <td class="tries">
                  <ol>
                    {task.attempts.map((attempt) => (
                      <Try key={attempt.attempt} attempt={attempt} />
                    ))}
                  </ol>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      {(page > 0 || next !== null) && (
        <Pager label="Failed chunks pages" page={page} hasNext={next !== null} onPage={turn} />
      )}
    </>
  );
};
