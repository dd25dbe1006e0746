import type { TargetLoad } from '../balancer.ts';
import { type Costing, targetCostUsd } from '../cost/costing.ts';
import { DurationSketch, type SketchData } from './sketch.ts';
import type { StatsData } from './stats.ts';

export interface DurationSummary {
  count: number;
  avg: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

export interface TargetReport {
  attempts: number;
  completed: number;
  /** This target's part of all completed tasks, 0 to 1. */
  share: number;
  retryableFailures: number;
  permanentFailures: number;
  redistributedIn: number;
  durationMs: DurationSummary;
  /** What its tries are modelled to cost (docs/cost.md); absent for a target whose cloud is not known. */
  costUsd?: number;
  inFlight?: number;
  load?: number;
  breaker?: string;
  breakerOpened?: number;
}

/** Stats as shown to people: rates, quantiles and shares worked out from `StatsData`. */
export interface StatsReport {
  tasks: number;
  states: StatsData['states'];
  successRate: number;
  attempts: number;
  retries: number;
  redistributed: number;
  duplicates: number;
  attemptsHistogram: Record<string, number>;
  durationMs: DurationSummary;
  throughput: { elapsedMs: number; chunksPerSecond: number; megabytesPerSecond: number };
  bytes: { in: number; done: number; out: number; compressionRatio: number };
  /** The targets' modelled costs added up. */
  costUsd: number;
  targets: Record<string, TargetReport>;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

export const summarizeDurations = (data: SketchData): DurationSummary => {
  const sketch = DurationSketch.from(data);
  return {
    count: data.count,
    avg: round(sketch.mean),
    p50: round(sketch.quantile(0.5)),
    p95: round(sketch.quantile(0.95)),
    p99: round(sketch.quantile(0.99)),
    min: round(data.min),
    max: round(data.max),
  };
};

/**
 * What is known of a target now: its breaker always, its work in flight only where one process sees all
 * of it (the engine; a cloud function sees only its own).
 */
export type TargetNow = Pick<TargetLoad, 'name' | 'breaker' | 'breakerOpened'> &
  Partial<Pick<TargetLoad, 'inFlight' | 'load' | 'changes'>>;

/** Dollars to 6 significant digits: a try costs around a millionth of a dollar, a large job dollars. */
const roundUsd = (usd: number): number => Number(usd.toPrecision(6));

/**
 * Stats as shown to people, the same on every runtime; `costing` prices each target's tries from what
 * the stats count of them: tries, bytes read and written, time run.
 */
export const summarize = (
  data: StatsData,
  costing: Costing,
  loads: readonly TargetNow[] = [],
): StatsReport => {
  const finished = data.states.completed + data.states.failed;
  const elapsedMs = data.firstAt !== undefined && data.lastAt !== undefined ? data.lastAt - data.firstAt : 0;
  const perSecond = (n: number) => (elapsedMs > 0 ? round((n * 1000) / elapsedMs, 1) : 0);
  const targets: Record<string, TargetReport> = {};
  const names = new Set([...Object.keys(data.targets), ...loads.map((l) => l.name)]);
  let costUsd = 0;
  for (const name of names) {
    const t = data.targets[name];
    const load = loads.find((l) => l.name === name);
    const cost = targetCostUsd(costing, name, {
      tries: t?.attempts ?? 0,
      bytesIn: t?.bytesIn ?? 0,
      bytesOut: t?.bytesOut ?? 0,
      durationMs: (t?.durations.sumMicros ?? 0) / 1000,
    });
    costUsd += cost ?? 0;
    targets[name] = {
      attempts: t?.attempts ?? 0,
      completed: t?.completed ?? 0,
      share: data.states.completed > 0 ? round((t?.completed ?? 0) / data.states.completed) : 0,
      retryableFailures: t?.retryableFailures ?? 0,
      permanentFailures: t?.permanentFailures ?? 0,
      redistributedIn: t?.redistributedIn ?? 0,
      durationMs: summarizeDurations(t?.durations ?? new DurationSketch().toJSON()),
      ...(cost !== undefined && { costUsd: roundUsd(cost) }),
      ...(load?.inFlight !== undefined && { inFlight: load.inFlight }),
      ...(load?.load !== undefined && { load: round(load.load) }),
      ...(load && { breaker: load.breaker, breakerOpened: load.breakerOpened }),
    };
  }
  return {
    tasks: data.tasks,
    states: data.states,
    successRate: finished > 0 ? round(data.states.completed / finished, 4) : 0,
    attempts: data.attempts,
    retries: data.retries,
    redistributed: data.redistributed,
    duplicates: data.duplicates,
    attemptsHistogram: data.attemptsHistogram,
    durationMs: summarizeDurations(data.durations),
    throughput: {
      elapsedMs: round(elapsedMs, 1),
      chunksPerSecond: perSecond(finished),
      megabytesPerSecond: perSecond(data.bytesDone / 1e6),
    },
    bytes: {
      in: data.bytesIn,
      done: data.bytesDone,
      out: data.bytesOut,
      compressionRatio: data.bytesOut > 0 ? round(data.bytesDone / data.bytesOut) : 0,
    },
    costUsd: roundUsd(costUsd),
    targets,
  };
};
