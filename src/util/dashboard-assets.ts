import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApiResponse, problem } from './http.ts';

/**
 * Where `npm run build` puts the page: dist/dashboard/, beside the bundle in dist/ when this runs
 * bundled, two folders up from src/util/ when it runs from source.
 */
export const BUILT_DASHBOARD = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/dashboard/' : './dashboard/',
  import.meta.url,
);

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
};

/** The page talks only to its own origin, and runs no inline script: nothing else may load or frame it. */
const HEADERS = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The names are not hashed: a browser asks again each time, so a rebuild shows at once.
  'cache-control': 'no-cache',
};

/** One file name, of letters, digits, `.`, `_` and `-`, not starting with a dot: no way up or across. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The asset a path names (`/` is the page itself), or undefined for a path that is not the dashboard's. */
const assetOf = (path: string): string | undefined => {
  if (path === '/') return 'index.html';
  return path.startsWith('/dashboard/') ? path.slice('/dashboard/'.length) : undefined;
};

/**
 * The dashboard's answer to a request, or undefined when the path is not the dashboard's (`GET /` and
 * `GET /dashboard/<asset>`), for the API to answer. Files are read from `dir` on every request.
 */
export const answerDashboard = async (
  method: string,
  path: string,
  dir: URL = BUILT_DASHBOARD,
): Promise<ApiResponse | undefined> => {
  const asset = assetOf(path);
  if (asset === undefined) return undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    return problem(
      405,
      'method-not-allowed',
      'Method not allowed',
      `${path} takes GET and HEAD, not ${method}`,
      {},
      { allow: 'GET, HEAD' },
    );
  }
  const type = CONTENT_TYPES[asset.slice(asset.lastIndexOf('.') + 1)];
  if (!ASSET_NAME.test(asset) || type === undefined) return notFound(path);
  const built = await stat(dir).catch(() => undefined);
  if (!built?.isDirectory()) {
    return problem(
      503,
      'dashboard-not-built',
      'Dashboard not built',
      `the dashboard's files are not in ${dir.pathname}; run \`npm run build\``,
    );
  }
  const body = await readFile(new URL(asset, dir)).catch(() => undefined);
  if (body === undefined) return notFound(path);
  return {
    status: 200,
    headers: { ...HEADERS, 'content-type': type, 'content-length': String(body.length) },
    ...(method === 'GET' && { body }),
  };
};

const notFound = (path: string): ApiResponse =>
  problem(404, 'not-found', 'Not found', `the dashboard has no file at ${path}`);

/** For a bare `http` server (emulator mode's): answers a dashboard request and says whether it did. */
export const serveDashboard = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
  const page = await answerDashboard(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/');
  if (page === undefined) return false;
  res.writeHead(page.status, page.headers);
  res.end(page.body as string | Uint8Array | undefined);
  return true;
};
