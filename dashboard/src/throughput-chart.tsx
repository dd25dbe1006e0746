import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Timeline } from './types.ts';

const HEIGHT = 220;
const SERIES = [
  { label: 'tries', stroke: '#1f5fbf' },
  { label: 'completed', stroke: '#1a7f37' },
  { label: 'failed', stroke: '#b3261e' },
];

/**
 * The timeline as uPlot's columns: bucket starts in seconds, then each series per second, and the last
 * bucket's end with no values, so that a job's first bucket alone still spans its width (uPlot widens an
 * empty range to years).
 */
const columns = (timeline: Timeline): uPlot.AlignedData => {
  const perSecond = 1000 / timeline.bucketMs;
  const starts = timeline.buckets.map((bucket) => Date.parse(bucket.at) / 1000);
  const end = (starts.at(-1) ?? Date.now() / 1000) + timeline.bucketMs / 1000;
  const series = (count: (bucket: Timeline['buckets'][number]) => number) => [
    ...timeline.buckets.map((bucket) => count(bucket) * perSecond),
    null,
  ];
  return [
    [...starts, end],
    series((bucket) => bucket.tries),
    series((bucket) => bucket.completed),
    series((bucket) => bucket.failed),
  ];
};

/** Tries, completions and failures per second over the job's life, a uPlot chart that follows its container's width. */
export const ThroughputChart = ({ timeline, problem }: { timeline?: Timeline; problem?: string }) => {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | undefined>(undefined);
  const shown = timeline !== undefined;
  useEffect(() => {
    const element = box.current;
    if (element === null || timeline === undefined) return;
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height: HEIGHT,
        legend: { show: false },
        series: [{}, ...SERIES.map((series) => ({ ...series, width: 2 }))],
      },
      columns(timeline),
      element,
    );
    chart.current = plot;
    const resized = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: HEIGHT }));
    resized.observe(element);
    return () => {
      resized.disconnect();
      plot.destroy();
      chart.current = undefined;
    };
    // Made once the first timeline is there; later ones only replace its data.
  }, [shown]);
  useEffect(() => {
    if (timeline !== undefined) chart.current?.setData(columns(timeline));
  }, [timeline]);
  if (timeline === undefined) {
    return (
      <figure aria-label="Throughput over time" class="chart">
        <figcaption>{problem === undefined ? 'Loading…' : `Not available: ${problem}`}</figcaption>
      </figure>
    );
  }
  const last = timeline.buckets.at(-1);
  return (
    <figure aria-label="Throughput over time" class="chart">
      <div ref={box} aria-hidden="true" />
      <figcaption>
        <ul class="key">
          {SERIES.map((series) => (
            <li key={series.label} class={`key-${series.label}`}>
              {series.label} per second
            </li>
          ))}
        </ul>
        {timeline.buckets.length} bucket{timeline.buckets.length === 1 ? '' : 's'} of{' '}
        {timeline.bucketMs / 1000} s
        {last !== undefined &&
          `; the latest: ${last.tries} tries, ${last.completed} completed, ${last.failed} failed`}
        .
      </figcaption>
    </figure>
  );
};
