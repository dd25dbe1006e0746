/** How figures read on the page. */

export const percent = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;

export const ms = (value: number | undefined): string =>
  value === undefined ? '—' : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;

export const usd = (value: number | undefined): string =>
  value === undefined ? '—' : `$${value < 0.01 && value > 0 ? value.toPrecision(2) : value.toFixed(2)}`;

export const age = (iso: string, now = Date.now()): string => {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
};

export const statusLabel = (status: string): string => status.replaceAll('_', ' ');

export const shortId = (jobId: string): string => jobId.slice(0, 8);

export const time = (iso: string): string => new Date(iso).toLocaleTimeString();
