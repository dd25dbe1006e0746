import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '../styles.css';
import { useAnnouncement } from './announce.ts';
import { JobPage } from './job-page.tsx';
import { JobsList } from './jobs-list.tsx';
import { useService } from './service.ts';
import { SubmitForm } from './submit-form.tsx';
import { TargetsView } from './targets-view.tsx';

/** The view a location hash names: `#/jobs/<id>`, `#/targets`, `#/submit`, or the jobs list. */
type Route = { view: 'jobs' } | { view: 'job'; jobId: string } | { view: 'targets' } | { view: 'submit' };

const routeOf = (hash: string): Route => {
  const job = /^#\/jobs\/([^/]+)$/.exec(hash);
  if (job?.[1] !== undefined) {
    try {
      return { view: 'job', jobId: decodeURIComponent(job[1]) };
    } catch {
      // A hash typed by hand with a stray `%` names no job: the list, then.
    }
  }
  if (hash === '#/targets') return { view: 'targets' };
  if (hash === '#/submit') return { view: 'submit' };
  return { view: 'jobs' };
};

const useRoute = (): Route => {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return routeOf(hash);
};

const App = () => {
  const route = useRoute();
  const service = useService();
  const announcement = useAnnouncement();
  const key = route.view === 'job' ? `job:${route.jobId}` : route.view;
  // A new view takes the focus to its heading, so that a screen reader starts reading there; where the
  // service is not live, it shows what the service holds now.
  useEffect(() => {
    document.getElementById('view-title')?.focus();
    service.refresh();
  }, [key]);
  const current = (view: string) => (route.view === view ? 'page' : undefined);
  return (
    <>
      <header>
        <h1>Fanout</h1>
        <nav aria-label="Dashboard">
          <a href="#/jobs" aria-current={current('jobs')}>
            Jobs
          </a>
          <a href="#/targets" aria-current={current('targets')}>
            Targets
          </a>
          <a href="#/submit" aria-current={current('submit')}>
            Submit a job
          </a>
        </nav>
      </header>
      <main>
        {route.view === 'jobs' && <JobsList service={service} />}
        {route.view === 'job' && <JobPage key={key} jobId={route.jobId} />}
        {route.view === 'targets' && <TargetsView service={service} />}
        {route.view === 'submit' && <SubmitForm knownTargets={Object.keys(service.targets ?? {})} />}
      </main>
      <div class="visually-hidden" aria-live="polite">
        {announcement}
      </div>
    </>
  );
};

const root = document.getElementById('app');
if (root !== null) {
  root.replaceChildren();
  render(<App />, root);
}
