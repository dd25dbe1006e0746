import { mkdir } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { launchChromium, seriousViolations } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

/** Where the README's pictures of the dashboard are kept. */
const IMAGES = new URL('../../docs/images/', import.meta.url).pathname;

/**
 * `lines` NDJSON lines of about 100 bytes: a chunk of 1 KiB holds ten. The engine hands a thread up to
 * 1 MiB of chunks at once and records them when the batch ends, so a job meant to be watched mid-run
 * uses chunks of 256 KiB (`BIG`): four to a batch.
 */
const BIG = 256 * 1024;

const ndjson = (lines: number): Buffer =>
  Buffer.from(Array.from({ length: lines }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(80)}"}\n`).join(''));

let server: TestServer;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
  const response = await fetch(`${base}${path}`, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${path} answered ${response.status}`);
  return (await response.json()) as T;
};
const jobOf = (id: string) => api<JobView>(`/jobs/${id}`);
const tasksOf = async (id: string) => (await api<{ tasks: TaskRecord[] }>(`/jobs/${id}/tasks`)).tasks;

/** Starts a job through the API (the page's own submit is tested once, below). */
const submit = async (query: string, body: Buffer): Promise<string> =>
  (
    await api<{ jobId: string }>(`/jobs?${query.includes('chunkSize') ? '' : 'chunkSize=1024&'}${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    })
  ).jobId;

/** The text of the job page's `[data-field=name]`, outside the per-target table. */
const field = (name: string) => page.locator(`[data-job-summary] [data-field="${name}"]`);
const number = async (name: string) => Number(await field(name).innerText());

/** Polls `check` (reads through locators) until it holds, or fails after `ms` saying what it waited for. */
const until = async (what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await page.waitForTimeout(50);
  }
};

const openJob = async (id: string) => {
  await page.goto(`${base}/#/jobs/${id}`);
  await page.getByRole('heading', { name: new RegExp(id) }).waitFor();
};

const waitForStatus = (status: RegExp) =>
  until(`the job page shows status ${status}`, async () => status.test(await field('status').innerText()));

beforeAll(async () => {
  server = await startTestServer('dashboard', [
    { path: ['workers_per_target'], value: 2, flag: '--workers' },
    { path: ['retry', 'base_delay_ms'], value: 5, flag: 'retry.base_delay_ms' },
    { path: ['retry', 'max_delay_ms'], value: 50, flag: 'retry.max_delay_ms' },
    { path: ['breaker', 'failure_threshold'], value: 3, flag: 'breaker.failure_threshold' },
    { path: ['breaker', 'reset_timeout_ms'], value: 500, flag: 'breaker.reset_timeout_ms' },
  ]);
  base = server.server.url;
  await mkdir(IMAGES, { recursive: true });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the dashboard, in a real browser, on fanout serve', () => {
  let submitted: string;

  it('submits a job through the page and shows it finish from live updates alone', async () => {
    // Prepare
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Submit a job' }).click();
    await page.getByLabel('Input file').setInputFiles({
      name: 'events.ndjson',
      mimeType: 'application/x-ndjson',
      buffer: ndjson(150_000),
    });
    await page.getByLabel('Pipeline').fill('chaos:delay=300,transform:uppercase');
    await page.getByLabel('Chunk size').fill(String(BIG));
    await page.getByLabel('Targets').fill('aws,gcp');
    expect(await seriousViolations(page)).toEqual([]);

    // Act
    await page.getByRole('button', { name: 'Submit job' }).click();
    const heading = page.getByRole('heading', { name: /Job [0-9a-f-]{36}/ });
    await heading.waitFor();
    submitted = /[0-9a-f-]{36}/.exec(await heading.innerText())?.[0] as string;
    const bar = page.getByRole('progressbar', { name: 'Progress' });
    const chart = page.getByRole('figure', { name: 'Throughput over time' });
    await until('the bar is between 30% and 80%, the chart past its first second', async () => {
      const now = Number(await bar.getAttribute('aria-valuenow'));
      return (
        now >= 30 && now <= 80 && !/(^|\n)1 bucket of/.test(await chart.locator('figcaption').innerText())
      );
    });
    await page.screenshot({ path: `${IMAGES}dashboard-job.png`, fullPage: true });
    const seen = new Set<string>([String(await bar.getAttribute('aria-valuenow'))]);
    while ((await field('status').innerText()) !== 'completed') {
      seen.add(String(await bar.getAttribute('aria-valuenow')));
      await page.waitForTimeout(100);
    }

    // Assess
    const job = await jobOf(submitted);
    expect(job.status).toBe('completed');
    expect(job.chunksTotal).toBeGreaterThan(50);
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    expect(seen.size).toBeGreaterThan(2);
    expect(await number('chunksCompleted')).toBe(job.chunksCompleted);
    expect(await number('chunksTotal')).toBe(job.chunksTotal);
    expect(await number('attempts')).toBe(job.stats.attempts);
    expect(await seriousViolations(page)).toEqual([]);
  }, 120_000);

  it("shows a chaos job's retries and redistributions as GET /jobs/{id} and /tasks count them", async () => {
    // Prepare
    const id = await submit(
      'pipeline=chaos:fail=0.2:target=aws:after=300:for=1500:delay=20:seed=3&targets=aws,gcp&strategy=round_robin&maxAttempts=6',
      ndjson(1500),
    );

    // Act
    await openJob(id);
    await waitForStatus(/^completed/);

    // Assess
    const [job, tasks] = await Promise.all([jobOf(id), tasksOf(id)]);
    const tries = tasks.flatMap((t) => t.attempts);
    expect(job.stats.retries).toBeGreaterThan(0);
    expect(job.stats.redistributed).toBeGreaterThan(0);
    expect(await number('attempts')).toBe(tries.length);
    expect(await number('retries')).toBe(job.stats.retries);
    expect(await number('redistributed')).toBe(job.stats.redistributed);
    expect(await number('chunksCompleted')).toBe(job.chunksCompleted);
    for (const target of ['aws', 'gcp']) {
      const row = page.locator(`tr[data-target="${target}"]`);
      const mine = tries.filter((a) => a.target === target);
      expect(Number(await row.locator('[data-field="attempts"]').innerText())).toBe(mine.length);
      expect(Number(await row.locator('[data-field="completed"]').innerText())).toBe(
        mine.filter((a) => a.outcome === 'completed').length,
      );
      expect(Number(await row.locator('[data-field="redistributedIn"]').innerText())).toBe(
        job.stats.targets[target]?.redistributedIn,
      );
    }
    const moves = page.getByLabel('Redistributions').locator('[data-index]');
    expect(await moves.count()).toBeGreaterThan(0);
    const first = moves.first();
    const index = Number(await first.getAttribute('data-index'));
    const text = await first.innerText();
    const history = tasks[index]?.attempts.map((a) => a.target) ?? [];
    const moved = history.some(
      (target, i) =>
        i > 0 && target !== history[i - 1] && text.includes(`${history[i - 1]}`) && text.includes(target),
    );
    expect(moved, `${text} against the tries of chunk ${index}: ${history.join(', ')}`).toBe(true);
  }, 120_000);

  it('cancels a running job from its page', async () => {
    // Prepare
    const id = await submit(`pipeline=chaos:delay=300&targets=aws,gcp&chunkSize=${BIG}`, ndjson(150_000));
    await openJob(id);
    await until('a chunk completed', async () => (await number('chunksCompleted')) > 0);

    // Act
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await waitForStatus(/^cancelled$/);

    // Assess
    const job = await jobOf(id);
    expect(job.status).toBe('cancelled');
    expect(job.chunksCancelled).toBeGreaterThan(0);
    const { chunksCancelled } = await jobOf(id);
    await until(
      'the page counts the cancelled chunks',
      async () => (await number('chunksCancelled')) === chunksCancelled,
    );
    const tasks = await tasksOf(id);
    expect(await number('chunksCompleted')).toBe(tasks.filter((t) => t.state === 'completed').length);
  }, 120_000);

  it('lists the failed chunks with their tries, and re-runs them', async () => {
    // Prepare
    const id = await submit('pipeline=chaos:fail=0.5:seed=4&targets=aws,gcp&maxAttempts=1', ndjson(400));
    await openJob(id);
    await waitForStatus(/^completed_with_failures$/);
    const failedBefore = (await tasksOf(id)).filter((t) => t.state === 'failed');
    const rows = page.getByRole('table', { name: 'Failed chunks' }).locator('tr[data-index]');
    await rows.first().waitFor();
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-index'))));
    expect(shown).toEqual(failedBefore.map((t) => t.index).slice(0, shown.length));
    expect(await rows.first().innerText()).toContain(failedBefore[0]?.attempts[0]?.error?.message as string);
    expect(await number('chunksFailed')).toBe(failedBefore.length);

    // Act
    await page.getByRole('button', { name: 'Re-run failed chunks' }).click();
    await until('the re-run ended with fewer failed chunks', async () => {
      const status = await field('status').innerText();
      return /^completed/.test(status) && (await number('chunksFailed')) < failedBefore.length;
    });

    // Assess
    const [job, tasks] = await Promise.all([jobOf(id), tasksOf(id)]);
    expect(job.chunksFailed).toBeLessThan(failedBefore.length);
    expect(await number('chunksFailed')).toBe(job.chunksFailed);
    expect(await number('chunksFailed')).toBe(tasks.filter((t) => t.state === 'failed').length);
    expect(await number('attempts')).toBe(tasks.flatMap((t) => t.attempts).length);
    const download = page.getByRole('link', { name: 'Download result' });
    expect(await download.getAttribute('href')).toContain(`/jobs/${id}/result`);
  }, 120_000);

  it('lists the jobs, filters them by status, and passes the accessibility check', async () => {
    // Act
    await page.goto(`${base}/`);
    await page.getByRole('table', { name: 'Jobs' }).locator(`tr[data-job-id="${submitted}"]`).waitFor();
    const listed = await page.locator('tr[data-job-id]').count();
    await page.screenshot({ path: `${IMAGES}dashboard-jobs.png`, fullPage: true });
    const violations = await seriousViolations(page);
    await page.getByLabel('Status').selectOption('cancelled');
    await until('one job is listed', async () => (await page.locator('tr[data-job-id]').count()) === 1);

    // Assess
    const { jobs } = await api<{ jobs: JobView[] }>('/jobs');
    expect(listed).toBe(jobs.length);
    expect(violations).toEqual([]);
    const row = page.locator('tr[data-job-id]');
    expect(await row.locator('[data-field="status"]').innerText()).toBe('cancelled');
    const cancelled = jobs.find((j) => j.status === 'cancelled') as JobView;
    expect(await row.getAttribute('data-job-id')).toBe(cancelled.jobId);
    expect(Number(await row.locator('[data-field="chunksCompleted"]').innerText())).toBe(
      cancelled.chunksCompleted,
    );
  }, 60_000);

  it("shows each target's breaker, its changes, success rate and p95 as GET /targets does", async () => {
    // Act
    await page.getByRole('link', { name: 'Targets' }).click();
    const table = page.getByRole('table', { name: 'Targets' });
    await table.waitFor();
    await table.locator('tr[data-target="aws"] summary').click();
    const changes = page.getByRole('list', { name: 'Breaker changes of aws' }).getByRole('listitem');
    await changes.first().waitFor();
    await page.screenshot({ path: `${IMAGES}dashboard-targets.png`, fullPage: true });

    // Assess
    const { targets } = await api<{
      targets: Record<
        string,
        { breaker: string; successRate: number; changes: unknown[]; durationMs: { p95: number } }
      >;
    }>('/targets');
    expect(Object.keys(targets).sort()).toEqual(['aws', 'gcp']);
    expect(targets.aws?.changes.length).toBeGreaterThan(0);
    expect(await changes.count()).toBe(targets.aws?.changes.length);
    for (const [name, target] of Object.entries(targets)) {
      const row = table.locator(`tr[data-target="${name}"]`);
      expect(await row.locator('[data-field="breaker"]').innerText()).toContain(
        target.breaker.replace('_', ' '),
      );
      expect(await row.locator('[data-field="successRate"]').innerText()).toContain(
        (target.successRate * 100).toFixed(1),
      );
    }
    expect(await seriousViolations(page)).toEqual([]);
  }, 60_000);

  it('works by keyboard alone and fits a narrow window', async () => {
    // Prepare
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto(`${base}/`);
    await page.getByRole('table', { name: 'Jobs' }).waitFor();

    // Act
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement?.textContent')) === 'Targets') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('table', { name: 'Targets' }).waitFor();

    // Assess
    expect(page.url()).toMatch(/#\/targets$/);
    const { scrollWidth, clientWidth } = await page.locator('html').evaluate((html) => ({
      scrollWidth: html.scrollWidth,
      clientWidth: html.clientWidth,
    }));
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    expect(await seriousViolations(page)).toEqual([]);
  }, 60_000);
});
