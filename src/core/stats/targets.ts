import type { BreakerChange, BreakerState } from '../breaker.ts';
import type { DurationSummary, StatsReport, TargetNow } from './report.ts';

/** A change of a target's breaker as the API shows it. */
export interface BreakerChangeView {
  at: string;
  from: BreakerState;
  to: BreakerState;
}

/** `GET /targets`: one target now, its breaker's past, and what its tries came to. */
export interface TargetView {
  breaker: BreakerState;
  breakerOpened: number;
  /** Oldest first, the last `MAX_BREAKER_CHANGES`. */
  changes: BreakerChangeView[];
  /** Only where one process sees all the work in flight (the engine). */
  inFlight?: number;
  load?: number;
  attempts: number;
  completed: number;
  retryableFailures: number;
  permanentFailures: number;
  /** Completed tries over finished ones, 0 to 1; 0 while none finished. */
  successRate: number;
  durationMs: DurationSummary;
}

const changeView = ({ at, from, to }: BreakerChange): BreakerChangeView => ({
  at: new Date(at).toISOString(),
  from,
  to,
});

/**
 * Every target of `now` (each configured one, tried or not), from the overall stats worked out with the
 * same `now`: one answer for the engine and the cloud, which differ only in what they know of now.
 */
export const targetViews = (report: StatsReport, now: readonly TargetNow[]): Record<string, TargetView> =>
  Object.fromEntries(
    now.map((target) => {
      const figures = report.targets[target.name];
      const completed = figures?.completed ?? 0;
      const retryableFailures = figures?.retryableFailures ?? 0;
      const permanentFailures = figures?.permanentFailures ?? 0;
      const finished = completed + retryableFailures + permanentFailures;
      const view: TargetView = {
        breaker: target.breaker,
        breakerOpened: target.breakerOpened,
        changes: (target.changes ?? []).map(changeView),
        ...(target.inFlight !== undefined && { inFlight: target.inFlight }),
        ...(figures?.load !== undefined && { load: figures.load }),
        attempts: figures?.attempts ?? 0,
        completed,
        retryableFailures,
        permanentFailures,
        successRate: finished > 0 ? Number((completed / finished).toFixed(4)) : 0,
        durationMs: figures?.durationMs ?? { count: 0, avg: 0, p50: 0, p95: 0, p99: 0, min: 0, max: 0 },
      };
      return [target.name, view];
    }),
  );
