import { MetricsService } from '../metrics.service';

const SERIES_SUFFIXES = ['_bucket', '_count', '_sum'];

/**
 * The value a scrape would show for `name` (a counter, a gauge, or a histogram's `_count`, `_sum`
 * or `_bucket`), summed over the series whose labels include `labels`; 0 when there is none.
 */
export async function metricValue(metrics: MetricsService, name: string, labels: Record<string, string | number> = {}): Promise<number> {
  const suffix = SERIES_SUFFIXES.find((s) => name.endsWith(s) && !metrics.registry.getSingleMetric(name));
  const family = metrics.registry.getSingleMetric(suffix ? name.slice(0, -suffix.length) : name);
  if (!family) throw new Error(`no metric named ${name}`);
  const { values } = await family.get();
  return values
    .filter((v) => ((v as { metricName?: string }).metricName ?? name) === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === String(want)))
    .reduce((sum, v) => sum + v.value, 0);
}
