import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TaskState } from '../core/constants.ts';
import type { Engine } from '../engine/engine.ts';

/**
 * Prometheus metrics of an engine, labelled by target. Counters follow the engine's events; gauges are
 * read when scraped, so they cost nothing between scrapes.
 */
export const createMetrics = (engine: Engine): { registry: Registry; rejected: Counter<'reason'> } => {
  const registry = new Registry();
  const labelNames = ['target'] as const;
  const perTarget = (name: string, help: string) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const processed = perTarget('fanout_chunks_processed_total', 'Chunks completed');
  const failed = perTarget('fanout_chunks_failed_total', 'Chunks that failed for good');
  const retried = perTarget('fanout_attempts_retried_total', 'Tries that failed and were retried');
  const redistributed = perTarget(
    'fanout_redistributed_total',
    'Retries sent to another target than the one that failed',
  );
  const duplicates = perTarget('fanout_duplicates_dropped_total', 'Duplicate deliveries dropped');
  const rejected = new Counter({
    name: 'fanout_requests_rejected_total',
    help: 'Requests turned away',
    labelNames: ['reason'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'fanout_task_duration_seconds',
    help: 'Time of one try on a worker',
    labelNames,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'fanout_in_flight',
    help: 'Tries routed to a target and not yet ended',
    labelNames,
    registers: [registry],
    collect() {
      for (const [target, t] of Object.entries(engine.stats().targets)) this.set({ target }, t.inFlight ?? 0);
    },
  });
  new Gauge({
    name: 'fanout_queue_depth',
    help: "Messages waiting in a target's queue of one lane",
    labelNames: ['target', 'lane'],
    registers: [registry],
    async collect() {
      for (const [target, lanes] of Object.entries(await engine.queueDepths()))
        for (const [lane, depth] of Object.entries(lanes)) this.set({ target, lane }, depth);
    },
  });
  new Gauge({
    name: 'fanout_pending_chunks',
    help: 'Chunks accepted and not finished, across jobs',
    registers: [registry],
    collect() {
      this.set(engine.pendingChunks);
    },
  });

  engine.events.on('attempt', (end) => {
    const labels = { target: end.target };
    duration.observe(labels, end.durationMs / 1000);
    if (end.outcome === TaskState.completed) processed.inc(labels);
    else if (end.outcome === TaskState.failed) failed.inc(labels);
    else retried.inc(labels);
  });
  engine.events.on('redistributed', ({ target }) => redistributed.inc({ target }));
  engine.events.on('duplicate', ({ target }) => duplicates.inc({ target }));
  return { registry, rejected };
};
