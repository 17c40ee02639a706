import { useEffect, useRef, useState } from 'preact/hooks';
import type { StatsDto } from '../api';
import { count, time } from '../format';
import type { MinuteChart } from './minute-chart';

/** Events per minute over the chosen range, with the same numbers in words for screen readers. */
export function StatsChart({ stats }: { stats?: StatsDto }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<MinuteChart>();
  const [failed, setFailed] = useState<string>();

  useEffect(() => {
    let gone = false;
    import('./minute-chart')
      .then(({ minuteChart }) => {
        if (gone || !box.current) return;
        chart.current = minuteChart(box.current, 'events per minute');
        if (stats) chart.current.update(stats.minutes, stats.from, stats.to);
      })
      .catch((err: Error) => setFailed(err.message));
    return () => {
      gone = true;
      chart.current?.destroy();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    if (stats) chart.current?.update(stats.minutes, stats.from, stats.to);
  }, [stats]);

  const peak = stats?.minutes.reduce<{ minute: string; count: number } | undefined>((best, m) => (!best || m.count > best.count ? m : best), undefined);
  return (
    <figure class="chart">
      <div ref={box} class="chart-box" role="img" aria-label={summary(stats, peak)} />
      <figcaption>
        {failed ? `The chart could not be drawn (${failed}). ` : ''}
        {summary(stats, peak)}
      </figcaption>
    </figure>
  );
}

function summary(stats: StatsDto | undefined, peak: { minute: string; count: number } | undefined): string {
  if (!stats) return 'Loading the counts…';
  if (!peak) return `No event stored between ${time(stats.from)} and ${time(stats.to)}.`;
  return `${count(stats.total)} events between ${time(stats.from)} and ${time(stats.to)}, in ${stats.minutes.length} minutes with events; busiest minute ${time(peak.minute)} with ${count(peak.count)}.`;
}
