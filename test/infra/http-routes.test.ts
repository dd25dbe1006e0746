import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../infra/http-api.ts';

/**
 * The routes docs/http-api.md says every runtime serves (`all`), as `METHOD /path`: the contract a
 * deployed API must route to the ingest function, or API Gateway answers 404 before it is reached.
 */
const routesServedByAll = async (): Promise<string[]> => {
  const doc = await readFile(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('## Routes'), doc.indexOf('\n### ', doc.indexOf('## Routes')));
  return [...table.matchAll(/^\| `(\w+) ([^`?]+)[^`]*` \| [^|]* \| all \|$/gm)].map(
    ([, method, path]) => `${method} ${path}`,
  );
};

describe('the routes of the deployed HTTP API', () => {
  it('include every route the HTTP API documents as served by all runtimes', async () => {
    // Prepare
    const documented = await routesServedByAll();

    // Act
    const routed = HTTP_ROUTES.map((route) => `${route.method} ${route.path}`);

    // Assess
    expect(documented).toContain('GET /jobs/{id}/rejects');
    expect(documented.length).toBeGreaterThanOrEqual(10);
    expect(documented.filter((route) => !routed.includes(route))).toEqual([]);
  });
});
