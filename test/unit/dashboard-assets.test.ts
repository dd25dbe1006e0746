import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerDashboard } from '../../src/util/dashboard-assets.ts';

let root: string;
let built: URL;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fanout-dashboard-'));
  await mkdir(join(root, 'dashboard'));
  await writeFile(join(root, 'dashboard', 'index.html'), '<!doctype html><title>page</title>');
  await writeFile(join(root, 'dashboard', 'app.js'), 'console.log(1);');
  await writeFile(join(root, 'secret.css'), 'body{}');
  built = pathToFileURL(join(root, 'dashboard/'));
});

afterAll(() => rm(root, { recursive: true, force: true }));

const textOf = (body: unknown) => Buffer.from(body as Uint8Array).toString();

describe('answerDashboard', () => {
  it('answers / with the page, under a strict CSP', async () => {
    // Act
    const answer = await answerDashboard('GET', '/', built);

    // Assess
    expect(answer?.status).toBe(200);
    expect(answer?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer?.headers['content-security-policy']).toContain("default-src 'self'");
    expect(answer?.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(answer?.headers['cache-control']).toBe('no-cache');
    expect(textOf(answer?.body)).toContain('<title>page</title>');
  });

  it('answers an asset with its content type, and HEAD with no body', async () => {
    // Act
    const got = await answerDashboard('GET', '/dashboard/app.js', built);
    const head = await answerDashboard('HEAD', '/dashboard/app.js', built);

    // Assess
    expect(got?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(textOf(got?.body)).toBe('console.log(1);');
    expect(head?.status).toBe(200);
    expect(head?.headers['content-length']).toBe('15');
    expect(head?.body).toBeUndefined();
  });

  it('leaves every other path to the API', async () => {
    // Act
    const answers = await Promise.all(
      ['/jobs', '/dashboard', '/index.html', '/stats'].map((path) => answerDashboard('GET', path, built)),
    );

    // Assess
    expect(answers).toEqual([undefined, undefined, undefined, undefined]);
  });

  it.each([
    '/dashboard/../secret.css',
    '/dashboard/..%2fsecret.css',
    '/dashboard/%2e%2e/secret.css',
    '/dashboard/.hidden.js',
    '/dashboard/sub/app.js',
    '/dashboard/',
    '/dashboard/missing.js',
    '/dashboard/app.exe',
  ])('answers 404 for %s, never a file outside the folder', async (path) => {
    // Act
    const answer = await answerDashboard('GET', path, built);

    // Assess
    expect(answer?.status).toBe(404);
    expect(JSON.parse(String(answer?.body)).type).toBe('urn:fanout:problem:not-found');
  });

  it('answers another method with 405 and Allow', async () => {
    // Act
    const answer = await answerDashboard('POST', '/', built);

    // Assess
    expect(answer?.status).toBe(405);
    expect(answer?.headers.allow).toBe('GET, HEAD');
  });

  it('answers 503 dashboard-not-built, naming the build, when the page was never built', async () => {
    // Act
    const answer = await answerDashboard('GET', '/', pathToFileURL(join(root, 'nothing/')));

    // Assess
    expect(answer?.status).toBe(503);
    expect(answer?.headers['content-type']).toBe('application/problem+json');
    const body = JSON.parse(String(answer?.body));
    expect(body.type).toBe('urn:fanout:problem:dashboard-not-built');
    expect(body.detail).toContain('npm run build');
  });
});
