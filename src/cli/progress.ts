import { SingleBar } from 'cli-progress';
import type { JobView } from '../core/job.ts';
import type { Engine } from '../engine/engine.ts';

export interface ProgressBar {
  /** Shows how far `view` has come. */
  update: (view: JobView) => void;
  stop: () => void;
}

/** A live bar on a terminal's stderr with per-target counts; nothing at all when stderr is not a TTY. */
export const progressBar = (expected: number | undefined): ProgressBar => {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar({
    stream: process.stderr,
    format: ' {bar} {percentage}% | {value}/{total} chunks | {targets} | {retries} retries',
    hideCursor: true,
    barsize: 30,
  });
  bar.start(expected ?? 1, 0, { targets: '', retries: 0 });
  return {
    update: (view) => {
      const targets = Object.entries(view.stats.targets)
        .map(([name, t]) => `${name} ${t.completed}`)
        .join(' ');
      bar.setTotal(view.chunksTotal ?? Math.max(expected ?? 0, view.stats.tasks, 1));
      bar.update(view.chunksCompleted + view.chunksFailed, { targets, retries: view.stats.retries });
    },
    stop: () => bar.stop(),
  };
};

/** The bar of a job in this process's engine, read ten times a second. */
export const showProgress = (engine: Engine, jobId: string, expected: number | undefined): (() => void) => {
  if (!process.stderr.isTTY) return () => {};
  const bar = progressBar(expected);
  const update = () => {
    const view = engine.getJob(jobId);
    if (view) bar.update(view);
  };
  const timer = setInterval(update, 100);
  return () => {
    clearInterval(timer);
    update();
    bar.stop();
  };
};
