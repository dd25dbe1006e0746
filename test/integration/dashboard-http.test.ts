import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDashboard } from '../../src/util/dashboard-assets.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

let served: TestServer;
let base: string;

beforeAll(async () => {
  served = await startTestServer('dashboard', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
  ]);
  base = served.server.url;
});

afterAll(() => served.close());

// The page as `npm run build` (run by `npm ci`) left it in dist/dashboard/.
describe('fanout serve: the dashboard', () => {
  it('answers / with the page, which loads its script and style sheet from /dashboard/', async () => {
    // Act
    const page = await fetch(`${base}/`);
    const html = await page.text();

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
    expect(html).toContain('src="/dashboard/app.js"');
    expect(html).toContain('href="/dashboard/app.css"');
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
  });

  it('answers the built assets with their content types', async () => {
    // Act
    const [script, styles] = await Promise.all([
      fetch(`${base}/dashboard/app.js`),
      fetch(`${base}/dashboard/app.css`),
    ]);

    // Assess
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await script.text()).length).toBeGreaterThan(1000);
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await styles.text()).toContain('.uplot');
  });

  it('keeps the API where it was, and the way up closed', async () => {
    // Act
    const jobs = await fetch(`${base}/jobs`);
    const up = await fetch(`${base}/dashboard/..%2f..%2fpackage.json`);

    // Assess
    expect(jobs.status).toBe(200);
    expect(await jobs.json()).toMatchObject({ jobs: [] });
    expect(up.status).toBe(404);
    expect(up.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('serveDashboard: a bare http server, as emulator mode runs', () => {
  it('answers the page and its files, and leaves the rest to the server', async () => {
    // Prepare
    const server = createServer(async (req, res) => {
      if (await serveDashboard(req, res)) return;
      res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    try {
      // Act
      const [page, icon, head, other] = await Promise.all([
        fetch(`${at}/?from=here`),
        fetch(`${at}/dashboard/icon.svg`),
        fetch(`${at}/dashboard/app.js`, { method: 'HEAD' }),
        fetch(`${at}/jobs`),
      ]);

      // Assess
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await page.text()).toContain('/dashboard/app.js');
      expect(icon.headers.get('content-type')).toBe('image/svg+xml');
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      expect(other.status).toBe(418);
    } finally {
      server.close();
    }
  });
});
