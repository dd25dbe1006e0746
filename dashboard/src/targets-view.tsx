import { ms, percent, statusLabel, time } from './format.ts';
import { ScrollBox } from './scroll-box.tsx';
import type { Service } from './service.ts';
import type { TargetFigures } from './types.ts';
import { ViewHeader } from './view-header.tsx';

/** The changes of a target's breaker, newest first, folded away. */
const BreakerChanges = ({ name, target }: { name: string; target: TargetFigures }) => (
  <details>
    <summary>
      {target.changes.length} change{target.changes.length === 1 ? '' : 's'}
    </summary>
    <ol aria-label={`Breaker changes of ${name}`}>
      {target.changes.toReversed().map((change) => (
        <li key={change.at + change.to}>
          <time dateTime={change.at}>{time(change.at)}</time>: {statusLabel(change.from)} →{' '}
          {statusLabel(change.to)}
        </li>
      ))}
    </ol>
  </details>
);

/** Each target's load, breaker and figures, live from the service's `targets` events. */
export const TargetsView = ({ service }: { service: Service }) => {
  const entries = Object.entries(service.targets ?? {});
  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Targets" service={service} />
      {service.targets === undefined ? (
        <p>Targets not available.</p>
      ) : (
        <ScrollBox label="Targets table">
          <table>
            <caption>Targets</caption>
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Breaker</th>
                <th scope="col">Load</th>
                <th scope="col">In flight</th>
                <th scope="col">Success rate</th>
                <th scope="col">p95</th>
                <th scope="col">Tries</th>
                <th scope="col">Breaker changes</th>
              </tr>
            </thead>
            <tbody>
              {entries.map(([name, target]) => (
                <tr key={name} data-target={name}>
                  <th scope="row">{name}</th>
                  <td data-field="breaker" class={`breaker ${target.breaker}`}>
                    {statusLabel(target.breaker)}
                  </td>
                  <td data-field="load">{target.load === undefined ? '—' : target.load.toFixed(2)}</td>
                  <td data-field="inFlight">{target.inFlight ?? '—'}</td>
                  <td data-field="successRate">{percent(target.successRate)}</td>
                  <td data-field="p95">
                    {ms(target.durationMs.count > 0 ? target.durationMs.p95 : undefined)}
                  </td>
                  <td>{target.attempts}</td>
                  <td>
                    <BreakerChanges name={name} target={target} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      )}
    </section>
  );
};
