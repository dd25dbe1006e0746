import { useState } from 'preact/hooks';
import { PRIORITIES, Strategy } from '../../src/core/constants.ts';
import { messageOf, request, withQuery } from './api.ts';

const STRATEGIES = Object.values(Strategy);
const ACCEPTED_TYPES = new Set(['text/plain', 'application/x-ndjson', 'application/octet-stream']);

/** The media type POST /jobs takes that fits the file: its own when accepted, by its name when not. */
const mediaTypeOf = (file: File): string => {
  if (ACCEPTED_TYPES.has(file.type)) return file.type;
  if (/\.(ndjson|jsonl)$/i.test(file.name)) return 'application/x-ndjson';
  return file.type.startsWith('text/') ? 'text/plain' : 'application/octet-stream';
};

/** POST /jobs with a file as the body and the chosen parameters; then the new job's page. */
export const SubmitForm = ({ knownTargets }: { knownTargets: string[] }) => {
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const file = form.get('file');
    if (!(file instanceof File) || file.name === '') return setRefusal('choose an input file');
    const field = (name: string) => String(form.get(name) ?? '').trim();
    setSending(true);
    setRefusal(undefined);
    try {
      const accepted = await request<{ jobId: string }>(
        withQuery('/jobs', {
          pipeline: field('pipeline'),
          chunkSize: field('chunkSize'),
          targets: field('targets'),
          strategy: field('strategy'),
          priority: field('priority'),
        }),
        { method: 'POST', body: file, headers: { 'content-type': mediaTypeOf(file) } },
      );
      location.hash = `#/jobs/${encodeURIComponent(accepted.jobId)}`;
    } catch (error) {
      setRefusal(messageOf(error));
    } finally {
      setSending(false);
    }
  };
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title" tabIndex={-1}>
        Submit a job
      </h2>
      <form class="submit" onSubmit={submit}>
        <label>
          Input file
          <input type="file" name="file" required />
        </label>
        <label>
          Pipeline
          <input
            type="text"
            name="pipeline"
            placeholder="the configured pipeline"
            aria-describedby="pipeline-hint"
          />
        </label>
        <p id="pipeline-hint" class="hint">
          Steps separated by commas, such as validate:ndjson,transform:normalize,compress:gzip
        </p>
        <label>
          Chunk size
          <input type="number" name="chunkSize" min={1024} max={1048576} step={1} placeholder="bytes" />
        </label>
        <label>
          Targets
          <input type="text" name="targets" placeholder={knownTargets.join(',') || 'all'} />
        </label>
        <Choice label="Strategy" name="strategy" options={STRATEGIES} />
        <Choice label="Priority" name="priority" options={PRIORITIES} />
        <button type="submit" disabled={sending}>
          Submit job
        </button>
      </form>
      <div role="alert" class="alert">
        {refusal !== undefined && `Refused: ${refusal}`}
      </div>
    </section>
  );
};

/** A select whose empty option leaves the choice to the service's configuration. */
const Choice = ({ label, name, options }: { label: string; name: string; options: readonly string[] }) => (
  <label>
    {label}
    <select name={name}>
      <option value="">the configured one</option>
      {options.map((option) => (
        <option key={option}>{option}</option>
      ))}
    </select>
  </label>
);
