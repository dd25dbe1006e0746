import type { Config } from '../config/schema.ts';
import { UsageError } from '../core/errors.ts';
import { JobConflictError, NoTargetAvailableError } from '../ports/errors.ts';
import type { JobService } from '../ports/job-service.ts';
import { type ApiRequest, type ApiResponse, problem } from '../util/http.ts';
import { UploadTooSlowError } from './errors.ts';
import { JobRoutes, type JobRoutesOptions } from './job-routes.ts';
import type { Route } from './route.ts';
import { type MetricsSource, type ServiceEventStream, serviceRoutes } from './service-routes.ts';

const decodePathPart = (part: string): string => {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(`${part} in the path is not valid percent-encoding`);
  }
};

/** A parameter given twice has no one meaning: which one wins differs between readers, so none does. */
const refuseDuplicatedParameters = (query: URLSearchParams): void => {
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (seen.has(name)) throw new UsageError(`query parameter ${name} is given more than once; give it once`);
    seen.add(name);
  }
};

export interface JobsApiOptions extends JobRoutesOptions {
  metrics: MetricsSource;
  /** Where `GET /events` streams from; without one the runtime cannot stream (a function). */
  serviceEvents?: ServiceEventStream;
}

/** No target can take a job's chunks: the client may send the job again once one can. */
const noTarget = (error: NoTargetAvailableError): ApiResponse => {
  const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
  const targets = error.targets.join(', ');
  const detail = `no target of ${targets} takes work now: every breaker is open; no job was recorded; send it again in ${seconds} s`;
  return problem(
    503,
    'no-target-available',
    'No target available',
    detail,
    { targets: error.targets },
    { 'retry-after': String(seconds) },
  );
};

/**
 * The HTTP contract of Fanout, free of any server: the local server and the ingest function both hand
 * requests to it. Every error is a problem document that names what was wrong.
 */
export class JobsApi {
  readonly #routes: Route[];

  constructor(service: JobService, config: Config, options: JobsApiOptions) {
    this.#routes = [
      ...new JobRoutes(service, config, options).routes(),
      ...serviceRoutes(service, options.metrics, options.serviceEvents),
    ];
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    for (const route of this.#routes) {
      const match = route.pattern.exec(req.path);
      if (!match) continue;
      const handler = route.methods[req.method];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        return problem(
          405,
          'method-not-allowed',
          'Method not allowed',
          `${req.method} is not allowed on ${req.path}; use ${allow}`,
          {},
          { allow },
        );
      }
      try {
        refuseDuplicatedParameters(req.query);
        return await handler(req, decodePathPart(match[1] ?? ''));
      } catch (error) {
        if (error instanceof UsageError) return problem(400, 'bad-request', 'Bad request', error.message);
        if (error instanceof NoTargetAvailableError) return noTarget(error);
        if (error instanceof JobConflictError) {
          return problem(409, error.slug, 'Conflict', error.message, { jobStatus: error.jobStatus });
        }
        if (error instanceof UploadTooSlowError) {
          return problem(408, 'upload-too-slow', 'Upload too slow', `${error.message}; send the body faster`);
        }
        throw error;
      }
    }
    return problem(404, 'not-found', 'Not found', `no resource at ${req.path}`);
  }
}
