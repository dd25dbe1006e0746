import { ms, percent } from './format.ts';
import { ScrollBox } from './scroll-box.tsx';
import type { JobStats, Redistribution } from './types.ts';

/** Each target's share of the job's tries and of its completions, and what was moved to it. */
export const JobTargets = ({ stats }: { stats: JobStats | undefined }) => {
  const targets = Object.entries(stats?.targets ?? {});
  // The targets count tries that ended; the job's `attempts` also counts those still running.
  const tries = Math.max(
    1,
    targets.reduce((sum, [, target]) => sum + target.attempts, 0),
  );
  return (
    <ScrollBox label="Targets of this job table">
      <table>
        <caption>Targets of this job</caption>
        <thead>
          <tr>
            <th scope="col">Target</th>
            <th scope="col">Tries</th>
            <th scope="col">Share of tries</th>
            <th scope="col">Completed</th>
            <th scope="col">Share of completions</th>
            <th scope="col">Failed, retryable</th>
            <th scope="col">Failed for good</th>
            <th scope="col">Redistributed in</th>
            <th scope="col">p95</th>
          </tr>
        </thead>
        <tbody>
          {targets.map(([name, target]) => (
            <tr key={name} data-target={name}>
              <th scope="row">{name}</th>
              <td data-field="attempts">{target.attempts}</td>
              <td>{percent(target.attempts / tries)}</td>
              <td data-field="completed">{target.completed}</td>
              <td>{percent(target.share)}</td>
              <td>{target.retryableFailures}</td>
              <td>{target.permanentFailures}</td>
              <td data-field="redistributedIn">{target.redistributedIn}</td>
              <td>{ms(target.durationMs.count > 0 ? target.durationMs.p95 : undefined)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollBox>
  );
};

/** The job's try durations. */
export const JobDurations = ({ stats }: { stats: JobStats | undefined }) => {
  const durations = stats?.durationMs;
  if (durations === undefined || durations.count === 0) return <p>No try has ended yet.</p>;
  const figures: [string, number][] = [
    ['min', durations.min],
    ['p50', durations.p50],
    ['p95', durations.p95],
    ['p99', durations.p99],
    ['max', durations.max],
    ['average', durations.avg],
  ];
  return (
    <dl class="counts" aria-label="Try durations">
      {figures.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{ms(value)}</dd>
        </div>
      ))}
    </dl>
  );
};

/** Redistributions listed at most: the latest, however many the job had. */
const SHOWN_MOVES = 100;

/** The tries that went to another target than the one before, as the job's events told them. */
export const Redistributions = ({ moves, available }: { moves: Redistribution[]; available: boolean }) => (
  <>
    <h3 id="redistributions-title">Redistributions</h3>
    {!available && <p>The job's events are not available.</p>}
    {available && moves.length === 0 && <p>None.</p>}
    {moves.length > SHOWN_MOVES && (
      <p>
        {moves.length} in all; the latest {SHOWN_MOVES} are listed.
      </p>
    )}
    <ol class="moves" aria-labelledby="redistributions-title">
      {moves.slice(-SHOWN_MOVES).map((move) => (
        <li key={`${move.index}:${move.attempt}`} data-index={move.index}>
          chunk {move.index}, try {move.attempt}: {move.from} → {move.to}
        </li>
      ))}
    </ol>
  </>
);
