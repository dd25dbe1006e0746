import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JobsApi } from '../api/jobs-api.ts';
import type { Config } from '../config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import type { ApiResponse } from '../util/http.ts';
import { createMetrics } from './metrics.ts';

const REJECTIONS = new Set([400, 413, 415, 429, 503]);

export interface LocalServer {
  server: Server;
  url: string;
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

/** The local HTTP server: Node's own `http` in front of `JobsApi`, with Prometheus metrics. */
export const startLocalServer = async (
  engine: Engine,
  config: Config,
  { port = config.server.port, host = config.server.host }: { port?: number; host?: string } = {},
): Promise<LocalServer> => {
  const metrics = createMetrics(engine);
  const api = new JobsApi(engine, config, {
    maxBodyBytes: config.server.max_body_bytes,
    maxIngestingJobs: config.server.max_ingesting_jobs,
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
  });
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const response = await api.handle({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: lowerCaseHeaders(req),
        body: req,
      });
      if (req.method === 'POST' && REJECTIONS.has(response.status)) {
        metrics.rejected.inc({ reason: String(response.status) });
        // Whatever is left of a rejected upload is not read; close the connection instead of draining it.
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
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
};
