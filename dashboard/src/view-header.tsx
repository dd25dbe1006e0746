import { describeFeed } from './live.ts';
import type { Service } from './service.ts';

/** A view of the service's stream: its heading (where a new view moves the focus) and how the stream stands. */
export const ViewHeader = ({ title, service }: { title: string; service: Service }) => (
  <>
    <h2 id="view-title" tabIndex={-1}>
      {title}
    </h2>
    <p class="feed">
      {describeFeed(service.feed)}
      {service.problem !== undefined && ` (${service.problem})`}
    </p>
  </>
);
