import { useEffect, useRef, useState } from 'preact/hooks';
import { chartSummary, SERIES_COLOURS, type ChartData } from '../view-results';
import type { SeriesChart } from './series-chart';

/** One value of a view over its windows, a line per group, with its legend and the same in words for screen readers. */
export function ViewChart({ data, value, window }: { data: ChartData; value: string; window: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<SeriesChart>();
  const latest = useRef(data);
  latest.current = data;
  const [failed, setFailed] = useState<string>();

  useEffect(() => {
    let gone = false;
    import('./series-chart')
      .then(({ seriesChart }) => {
        if (gone || !box.current) return;
        chart.current = seriesChart(box.current, value);
        chart.current.update(latest.current);
      })
      .catch((err: Error) => setFailed(err.message));
    return () => {
      gone = true;
      chart.current?.destroy();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => chart.current?.update(data), [data]);

  const summary = chartSummary(data, value, window);
  return (
    <figure class="chart" data-series={data.series.length}>
      <div ref={box} class="chart-box" role="img" aria-label={summary} />
      {data.series.length > 0 && (
        <ul class="legend" aria-label="Groups drawn">
          {data.series.map((s, i) => (
            <li key={s.label}>
              <span class={`swatch swatch-${i % SERIES_COLOURS.length}`} aria-hidden="true" /> {s.label}
            </li>
          ))}
        </ul>
      )}
      <figcaption>
        {failed ? `The chart could not be drawn (${failed}). ` : ''}
        {summary}
      </figcaption>
    </figure>
  );
}
