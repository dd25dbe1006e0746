import type { ServiceEvents } from '../core/service-events.ts';
import type { JobService } from '../ports/job-service.ts';
import type { Readiness } from '../ports/readiness.ts';
import { type ApiResponse, json, problem } from '../util/http.ts';
import type { Route } from './route.ts';

/** Prometheus metrics to serve, or where a deployment that serves none keeps its metrics instead. */
export type MetricsSource = (() => Promise<{ contentType: string; body: string }>) | { elsewhere: string };

/** What streams `GET /events`; a runtime without one (a function) cannot stream. */
export type ServiceEventStream = Pick<ServiceEvents, 'stream'>;

const notStreamed = problem(
  501,
  'events-not-streamed',
  'Events not streamed here',
  'this runtime cannot stream (API Gateway HTTP APIs answer whole responses); poll GET /jobs and GET /targets instead',
);

const live = async (): Promise<ApiResponse> => json(200, { status: 'ok' });

/**
 * What keeps a service from being ready: each store that did not answer, each target that takes no work,
 * each thread stuck in a try past its deadline.
 */
const notReadyBecause = ({ stores, targets, stuck }: Readiness): string[] => [
  ...Object.entries(stores)
    .filter(([, store]) => !store.ok)
    .map(([name, store]) => `store ${name}: ${store.error}`),
  ...Object.entries(targets)
    .filter(([, target]) => !target.accepting)
    .map(([name, target]) =>
      target.queue.ok
        ? `target ${name}: breaker ${target.breaker}`
        : `target ${name}: queue: ${target.queue.error}`,
    ),
  ...stuck.map(
    (late) =>
      `thread ${late.thread}: try ${late.attempt} of chunk ${late.index} of job ${late.jobId} runs ${late.overdueMs} ms past its deadline`,
  ),
];

/**
 * The service's own resources: liveness (the process answers; `/health` is its old name), readiness (the
 * stores and queues answer and a target takes work), the overall stats, the targets, the service's
 * events, and metrics.
 */
export const serviceRoutes = (
  service: JobService,
  metrics: MetricsSource,
  events: ServiceEventStream | undefined,
): Route[] => [
  { pattern: /^\/health(?:\/live)?\/?$/, methods: { GET: live } },
  {
    pattern: /^\/health\/ready\/?$/,
    methods: {
      GET: async () => {
        const readiness = await service.readiness();
        const { stores, targets, stuck } = readiness;
        if (readiness.ready) return json(200, { status: 'ready', stores, targets });
        return problem(503, 'not-ready', 'Not ready', `not ready: ${notReadyBecause(readiness).join('; ')}`, {
          stores,
          targets,
          ...(stuck.length > 0 && { stuck }),
        });
      },
    },
  },
  { pattern: /^\/stats\/?$/, methods: { GET: async () => json(200, await service.stats()) } },
  {
    pattern: /^\/targets\/?$/,
    methods: { GET: async () => json(200, { targets: await service.targets() }) },
  },
  { pattern: /^\/events\/?$/, methods: { GET: async () => events?.stream() ?? notStreamed } },
  {
    pattern: /^\/metrics\/?$/,
    methods: {
      GET: async () => {
        if (typeof metrics !== 'function') {
          return problem(404, 'metrics-elsewhere', 'Metrics are elsewhere', metrics.elsewhere);
        }
        const { contentType, body } = await metrics();
        return { status: 200, headers: { 'content-type': contentType }, body };
      },
    },
  },
];
