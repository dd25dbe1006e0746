import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JobsApi } from '../api/jobs-api.ts';
import { paced } from '../api/upload-pace.ts';
import type { Config } from '../config/schema.ts';
import { FOLLOWED_JOBS, ServiceEvents } from '../core/service-events.ts';
import type { Engine } from '../engine/engine.ts';
import { EngineJobEvents } from '../engine/engine-job-events.ts';
import { notifyJobEnds, startWebhooks } from '../engine/engine-notifications.ts';
import { answerDashboard } from '../util/dashboard-assets.ts';
import { type ApiResponse, problem } from '../util/http.ts';
import { createMetrics } from './metrics.ts';
import { RequestGuard } from './request-guard.ts';

/** How long closing waits for webhooks still being tried. */
const WEBHOOK_DRAIN_MS = 2000;

const REJECTIONS = new Set([400, 403, 408, 413, 415, 421, 429, 503]);

export interface LocalServer {
  server: Server;
  url: string;
  /** The jobs a durable engine took up from its data directory before the server listened (`Engine.resume`). */
  resumed: { jobs: number; running: number };
  close: () => Promise<void>;
}

const lowerCaseHeaders = (req: IncomingMessage): Record<string, string | undefined> =>
  Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(', ') : value,
    ]),
  );

const send = async (res: import('node:http').ServerResponse, response: ApiResponse): Promise<void> => {
  res.writeHead(response.status, response.headers);
  const body = response.body;
  if (body === undefined) res.end();
  else if (typeof body === 'string' || body instanceof Uint8Array) res.end(body);
  else await pipeline(Readable.from(body), res);
};

/**
 * A request target's path and query, taken apart by hand: `new URL` reads a path that starts with `//`
 * as a host, and throws on it.
 */
const splitTarget = (target: string): [string, string] => {
  const mark = target.indexOf('?');
  return mark < 0 ? [target, ''] : [target.slice(0, mark), target.slice(mark + 1)];
};

/** What to answer a request Node's parser refused before any handler saw it; undefined to just hang up. */
const parserRefusal = (code: string | undefined): ApiResponse | undefined => {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return problem(
      431,
      'headers-too-large',
      'Request headers too large',
      'the request headers are larger than the server takes (16 KiB)',
    );
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return problem(
      408,
      'request-timeout',
      'Request timeout',
      'the request did not arrive whole in time; see server.headers_timeout_ms and server.request_timeout_ms',
    );
  }
  if (code?.startsWith('HPE_'))
    return problem(
      400,
      'malformed-request',
      'Malformed request',
      `the request is not valid HTTP/1.1 (${code})`,
    );
  return undefined;
};

/** A whole HTTP/1.1 answer as bytes, for a socket that has no response object. */
const rawAnswer = ({ status, headers, body }: ApiResponse & { body: string }): string =>
  [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    ...Object.entries({ ...headers, 'content-length': Buffer.byteLength(body), connection: 'close' }).map(
      ([name, value]) => `${name}: ${value}`,
    ),
    '',
    body,
  ].join('\r\n');

const answerClientError = (error: NodeJS.ErrnoException, socket: Duplex): void => {
  const refusal = parserRefusal(error.code);
  const response = (socket as { _httpMessage?: { headersSent: boolean } })._httpMessage;
  if (refusal === undefined || !socket.writable || response?.headersSent) socket.destroy();
  else socket.end(rawAnswer(refusal as ApiResponse & { body: string }));
};

/** How often `GET /events` reads the engine while a client follows it: the jobs' views are in memory. */
const SERVICE_EVENTS_POLL_MS = 500;

/** The local HTTP server: Node's own `http` in front of `JobsApi`, with Prometheus metrics. */
export const startLocalServer = async (
  engine: Engine,
  config: Config,
  { port = config.server.port, host = config.server.host }: { port?: number; host?: string } = {},
): Promise<LocalServer> => {
  /** Settles once the jobs a durable engine kept are taken up (`Engine.resume`): requests wait for it. */
  const ready = Promise.withResolvers<void>();
  ready.promise.catch(() => {});
  let isReady = false;
  const metrics = createMetrics(engine);
  const events = new EngineJobEvents(engine);
  const webhooks = startWebhooks(config);
  const stopNotifying = notifyJobEnds(engine, events, webhooks, config.notify.progress_interval_ms);
  const serviceEvents = new ServiceEvents(
    {
      listJobs: async () => (await engine.listJobs({ limit: FOLLOWED_JOBS })).jobs,
      readTargets: async () => engine.targets(),
    },
    { intervalMs: SERVICE_EVENTS_POLL_MS },
  );
  const api = new JobsApi(engine, config, {
    maxBodyBytes: config.server.max_body_bytes,
    maxIngestingJobs: config.server.max_ingesting_jobs,
    events,
    serviceEvents,
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
  });
  const { headers_timeout_ms, request_timeout_ms, min_upload_bytes_per_second, upload_grace_ms } =
    config.server;
  const pace = { minBytesPerSecond: min_upload_bytes_per_second, graceMs: upload_grace_ms };
  const guard = new RequestGuard({
    host,
    port: () => (server.address() as AddressInfo).port,
    allowedHosts: config.server.allowed_hosts,
    allowedOrigins: config.server.allowed_origins,
  });
  const server = createServer(
    {
      headersTimeout:
        request_timeout_ms > 0 ? Math.min(headers_timeout_ms, request_timeout_ms) : headers_timeout_ms,
      requestTimeout: request_timeout_ms,
      // Node checks the two timeouts at this interval; its default, 30 s, would stretch a short timeout.
      connectionsCheckingInterval: Math.min(1_000, headers_timeout_ms),
    },
    async (req, res) => {
      try {
        // Only while jobs are being taken up: once ready, a request is handled in the turn it came.
        if (!isReady) await ready.promise;
        const method = req.method ?? 'GET';
        const headers = lowerCaseHeaders(req);
        const [path = '/', query = ''] = splitTarget(req.url ?? '/');
        const settled = guard.answer(method, headers);
        const response =
          settled ??
          (await answerDashboard(method, path)) ??
          (await api.handle({
            method,
            path,
            query: new URLSearchParams(query),
            headers,
            body: paced(req, pace),
          }));
        Object.assign(response.headers, guard.corsHeaders(headers));
        if (method !== 'GET' && REJECTIONS.has(response.status)) {
          metrics.rejected.inc({ reason: String(response.status) });
        }
        if (method !== 'GET' && (settled !== undefined || REJECTIONS.has(response.status))) {
          // Whatever is left of the body is not read; close the connection instead of draining it.
          res.setHeader('connection', 'close');
        }
        await send(res, response);
      } catch (error) {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/problem+json' });
          res.end(
            JSON.stringify({
              type: 'urn:fanout:problem:internal',
              title: 'Internal error',
              status: 500,
              detail: (error as Error).message,
            }),
          );
        } else res.destroy(error as Error);
      }
    },
  );
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Once the port is ours and the listeners above are on: a job a durable engine takes up is watched as
  // a new one is, and a request that comes meanwhile waits for it (`ready`), so no client holding a job's
  // id is told it does not exist.
  const resumed = await engine.resume().catch(async (error: unknown) => {
    ready.reject(error);
    await new Promise((resolve) => server.close(resolve));
    throw error;
  });
  ready.resolve();
  isReady = true;
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    url: `http://${host}:${bound}`,
    resumed,
    close: async () => {
      serviceEvents.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      stopNotifying();
      events.close();
      // Webhooks still being tried get a little time; they never hold a job, nor the shutdown, for long.
      await webhooks.drain(WEBHOOK_DRAIN_MS);
    },
  };
};
