// The dashboard under load: 1,000 jobs in the list and one job of 100,000 chunks, on `fanout serve`,
// in Debian's Chromium. Measures what the page costs the browser (DOM size, long tasks while it follows
// the big job live, time to show the list) and what its reads cost the server. `npm run bench:dashboard`;
// the figures go to bench/results/dashboard.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { launchChromium } from '../test/support/browser.ts';

const JOBS = 1000;
const CHUNKS = 100_000;

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server: ChildProcess = spawn(
  process.execPath,
  ['bin/fanout.ts', 'serve', '--memory', '--port', String(port), '--workers', '4'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);

const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
};

const post = async (query: string, body: string): Promise<string> => {
  const response = await fetch(`${base}/jobs?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body,
  });
  // The server reads at most `server.max_ingesting_jobs` (4) inputs at once: come back shortly.
  if (response.status === 503) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return post(query, body);
  }
  if (response.status !== 202)
    throw new Error(`POST /jobs answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { jobId: string }).jobId;
};

const view = async (id: string) =>
  (await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string; percentComplete: number };

try {
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/health/live`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 100) throw new Error('fanout serve did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // 1,000 small jobs, 4 at a time.
  for (let i = 0; i < JOBS; i += 4) {
    await Promise.all(Array.from({ length: 4 }, (_, k) => post('pipeline=validate', `{"job":${i + k}}\n`)));
  }
  // One job of 100,000 chunks of one 1,000-byte line each; 1% of its chunks fail for good.
  const line = (n: number) => `{"n":${n},"pad":"${'x'.repeat(980 - String(n).length)}"}\n`;
  const big = await post(
    'pipeline=chaos:poison=0.01:delay=1&chunkSize=1024&targets=aws,gcp',
    Array.from({ length: CHUNKS }, (_, n) => line(n)).join(''),
  );

  const browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const nodes = async () => Number(await page.evaluate('document.getElementsByTagName("*").length'));

  const [, listMs] = await timed(async () => {
    await page.goto(`${base}/`);
    await page.locator('tr[data-job-id]').first().waitFor();
  });
  const listNodes = await nodes();
  const listRows = await page.locator('tr[data-job-id]').count();
  const [, filterMs] = await timed(async () => {
    await page.getByLabel('Status').selectOption('completed');
    await page.getByLabel('Status').selectOption('');
    await page.locator('tr[data-job-id]').first().waitFor();
  });

  await page.goto(`${base}/#/jobs/${big}`);
  await page.getByRole('progressbar', { name: 'Progress' }).waitFor();
  await page.evaluate(`(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
      .observe({ type: 'longtask', buffered: false });
  })()`);
  const followed = performance.now();
  let maxNodes = 0;
  let clickMs = 0;
  while ((await view(big)).percentComplete < 100) {
    maxNodes = Math.max(maxNodes, await nodes());
    const [, ms] = await timed(() => page.getByRole('heading', { name: /Job / }).click());
    clickMs = Math.max(clickMs, ms);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const followedS = (performance.now() - followed) / 1000;
  const longTasks = (await page.evaluate('window.__longTasks')) as number[];
  await page.locator('[data-job-summary] [data-field="status"]', { hasText: /^completed/ }).waitFor();
  const failedRows = await page
    .getByRole('table', { name: 'Failed chunks' })
    .locator('tr[data-index]')
    .count();
  maxNodes = Math.max(maxNodes, await nodes());
  await browser.close();

  const reads: [string, number][] = [];
  for (const path of [
    `/jobs/${big}`,
    `/jobs/${big}/timeline`,
    `/jobs/${big}/tasks?status=failed&limit=50`,
    '/jobs?limit=1000',
    '/targets',
  ]) {
    const [, ms] = await timed(async () => (await fetch(`${base}${path}`)).arrayBuffer());
    reads.push([path.replace(big, '{big}'), ms]);
  }

  const report = [
    '# Dashboard under load',
    '',
    `Measured ${new Date().toISOString()} by \`npm run bench:dashboard\` on \`fanout serve --memory --workers 4\`,`,
    `${JOBS} one-chunk jobs and one job of ${CHUNKS.toLocaleString('en')} chunks (1% failed for good), in Chromium.`,
    '',
    '| what | figure |',
    '| --- | --- |',
    `| jobs list: first rows shown after opening the page (snapshot of ${JOBS + 1} jobs) | ${listMs.toFixed(0)} ms |`,
    `| jobs list: rows in the DOM / elements in the page | ${listRows} / ${listNodes} |`,
    `| jobs list: filter to "completed" and back | ${filterMs.toFixed(0)} ms |`,
    `| big job followed live | ${followedS.toFixed(1)} s |`,
    `| big job page: most elements at once | ${maxNodes} |`,
    `| big job page: failed-chunk rows in the DOM | ${failedRows} |`,
    `| big job page: long tasks (> 50 ms) while following it | ${longTasks.length}, longest ${Math.max(0, ...longTasks).toFixed(0)} ms |`,
    `| big job page: slowest click answered while it ran | ${clickMs.toFixed(0)} ms |`,
    ...reads.map(([path, ms]) => `| server: \`GET ${path}\` after the job | ${ms.toFixed(0)} ms |`),
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/dashboard.md', report);
} finally {
  server.kill('SIGTERM');
}
