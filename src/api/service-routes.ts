import type { JobService } from '../ports/job-service.ts';
import type { Readiness } from '../ports/readiness.ts';
import { type ApiResponse, json, problem } from '../util/http.ts';
import type { Route } from './route.ts';

/** Prometheus metrics to serve, or where a deployment that serves none keeps its metrics instead. */
export type MetricsSource = (() => Promise<{ contentType: string; body: string }>) | { elsewhere: string };

const live = async (): Promise<ApiResponse> => json(200, { status: 'ok' });

/** What keeps a service from being ready: each store that did not answer, each target that takes no work. */
const notReadyBecause = ({ stores, targets }: Readiness): string[] => [
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
];

/**
 * The service's own resources: liveness (the process answers; `/health` is its old name), readiness (the
 * stores and queues answer and a target takes work), the overall stats, and metrics.
 */
export const serviceRoutes = (service: JobService, metrics: MetricsSource): Route[] => [
  { pattern: /^\/health(?:\/live)?\/?$/, methods: { GET: live } },
  {
    pattern: /^\/health\/ready\/?$/,
    methods: {
      GET: async () => {
        const readiness = await service.readiness();
        const { stores, targets } = readiness;
        if (readiness.ready) return json(200, { status: 'ready', stores, targets });
        return problem(503, 'not-ready', 'Not ready', `not ready: ${notReadyBecause(readiness).join('; ')}`, {
          stores,
          targets,
        });
      },
    },
  },
  { pattern: /^\/stats\/?$/, methods: { GET: async () => json(200, await service.stats()) } },
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
