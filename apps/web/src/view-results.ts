// A view's results as its page shows them: the names of its values, a label per group, the chart's
// series (one per group, of one value, over windowStart), and its progress in words. Pure: no DOM.
import { aggregateNames } from '../../../src/views/view-definition';
import type { ViewDefinitionDto, ViewProgressDto, ViewResultDto } from './api';
import { count } from './format';

/** The chart's colour of each series, in order; styles.css colours the legend's swatches (.swatch-0 ...) alike. */
export const SERIES_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#b45309', '#56b4e9', '#1f2937', '#8c564b'];

/** The most groups the chart draws, each in its own colour: the largest by the value shown (the table lists them all). */
export const MAX_SERIES = SERIES_COLOURS.length;

/** The name of each value of a result, in the order of the definition's aggregates, by the API's own rule (`sum` of `/amount` is `sum_amount`). */
export const valueNames = (definition: Pick<ViewDefinitionDto, 'aggregates'>): string[] => aggregateNames(definition);

/** A group in words: its values in the order of groupBy (`EUR · paid`), `(none)` for a field the events lacked. */
export function groupLabel(group: Record<string, string | null>, groupBy: readonly string[]): string {
  if (groupBy.length === 0) return 'all events';
  return groupBy.map((pointer) => group[pointer] ?? '(none)').join(' · ');
}

export interface ChartSeries {
  label: string;
  /** One per x: null where the group has no result in that window, or the value is null. */
  values: (number | null)[];
}

export interface ChartData {
  /** Each window's start, in seconds since the epoch, oldest first. */
  x: number[];
  /** One per group drawn, in the order of their labels (so a group keeps its colour from one read to the next). */
  series: ChartSeries[];
  /** Groups in the results, drawn or not. */
  groups: number;
}

/** The series of one value: a line per group over windowStart; of more than `max` groups, the `max` largest (by the sum of the value's magnitude). */
export function chartData(items: readonly ViewResultDto[], value: string, groupBy: readonly string[], max = MAX_SERIES): ChartData {
  const x = [...new Set(items.map((r) => Date.parse(r.windowStart) / 1000))].sort((a, b) => a - b);
  const at = new Map(x.map((t, i) => [t, i]));
  const byGroup = new Map<string, { values: (number | null)[]; size: number }>();
  for (const r of items) {
    const label = groupLabel(r.group, groupBy);
    let g = byGroup.get(label);
    if (!g) byGroup.set(label, (g = { values: x.map(() => null), size: 0 }));
    const v = r.values[value];
    if (typeof v !== 'number') continue;
    g.values[at.get(Date.parse(r.windowStart) / 1000)!] = v;
    g.size += Math.abs(v);
  }
  const largest = [...byGroup]
    .sort(([la, a], [lb, b]) => b.size - a.size || la.localeCompare(lb))
    .slice(0, max)
    .sort(([la], [lb]) => la.localeCompare(lb));
  return { x, series: largest.map(([label, g]) => ({ label, values: g.values })), groups: byGroup.size };
}

/** The chart in words, for screen readers and as its caption. */
export function chartSummary(data: ChartData, value: string, window: string): string {
  if (data.x.length === 0) return `No result yet: ${value} per ${window} window appears here once the view has counted events.`;
  const drawn =
    data.series.length < data.groups ? `the ${data.series.length} largest of ${data.groups} groups` : `${data.groups} group${data.groups === 1 ? '' : 's'}`;
  const latest = data.series
    .map((s) => [s.label, s.values[s.values.length - 1]] as const)
    .filter(([, v]) => v !== null)
    .map(([label, v]) => `${label} ${count(v!)}`);
  return `${value} per ${window} window, ${drawn}, over ${data.x.length} window${data.x.length === 1 ? '' : 's'}${latest.length ? `; latest window: ${latest.join(', ')}` : ''}.`;
}

/** How far the view has read its source's topic: `120,400 of 120,512 offsets (99.9 %)`. */
export function progressText(progress: ViewProgressDto): string {
  const { offsetsRead: read, offsetsAvailable: available } = progress;
  const share = available > 0 ? ` (${(Math.floor((Math.min(read, available) / available) * 1000) / 10).toFixed(1)} %)` : '';
  return `${count(read)} of ${count(available)} offsets${share}`;
}
