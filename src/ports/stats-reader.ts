import type { StatsData } from '../core/stats/stats.ts';

/** Where the stats function keeps what it aggregated from the table's stream. */
export interface StatsReader {
  jobStats(jobId: string): Promise<{ data: StatsData } | undefined>;
  overall(): Promise<StatsData>;
}
