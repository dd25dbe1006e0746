import type { StatsReport } from '../core/stats/report.ts';

/** Rows as text columns, each as wide as its widest cell, two spaces apart. */
export const padColumns = (rows: string[][]): string => {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, col) => cell.padEnd(widths[col] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

/** The stats as a plain-text table for a terminal. */
export const formatStats = (stats: StatsReport): string => {
  const { states, durationMs: d, throughput, bytes } = stats;
  const summary = padColumns([
    ['chunks', `${stats.tasks} (${states.completed} completed, ${states.failed} failed)`],
    ['success rate', percent(stats.successRate)],
    [
      'attempts',
      `${stats.attempts} (${stats.retries} retries, ${stats.redistributed} redistributed, ${stats.duplicates} duplicates dropped)`,
    ],
    [
      'attempts per chunk',
      Object.entries(stats.attemptsHistogram)
        .map(([n, count]) => `${n}: ${count}`)
        .join(', ') || '-',
    ],
    ['duration', `avg ${ms(d.avg)}  p50 ${ms(d.p50)}  p95 ${ms(d.p95)}  p99 ${ms(d.p99)}`],
    [
      'throughput',
      `${throughput.chunksPerSecond} chunks/s, ${throughput.megabytesPerSecond} MB/s over ${(throughput.elapsedMs / 1000).toFixed(2)} s`,
    ],
    ['bytes', `${mb(bytes.in)} in, ${mb(bytes.out)} out (ratio ${bytes.compressionRatio})`],
  ]);
  const targets = padColumns([
    ['target', 'completed', 'share', 'attempts', 'failed tries', 'redistributed in', 'p95', 'breaker'],
    ...Object.entries(stats.targets).map(([name, t]) => [
      name,
      String(t.completed),
      percent(t.share),
      String(t.attempts),
      String(t.retryableFailures + t.permanentFailures),
      String(t.redistributedIn),
      ms(t.durationMs.p95),
      `${t.breaker ?? '-'}${t.breakerOpened ? ` (opened ${t.breakerOpened}x)` : ''}`,
    ]),
  ]);
  return `${summary}\n\n${targets}`;
};
