// A view's chart, drawn by uPlot: a line per group over each window's start. Loaded only by the
// view page, as the minute chart is by the source page. uPlot styles through the CSSOM and its own
// stylesheet: no inline style. The legend is the page's own (ViewChart), in the same colours.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { SERIES_COLOURS, type ChartData } from '../view-results';

export interface SeriesChart {
  update(data: ChartData): void;
  destroy(): void;
}

const HEIGHT = 240;

export function seriesChart(target: HTMLElement, label: string): SeriesChart {
  const width = () => Math.max(280, target.clientWidth);
  let drawn = '';
  let plot: uPlot | undefined;

  const make = (data: ChartData) =>
    new uPlot(
      {
        width: width(),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: '#374151', grid: { stroke: '#e5e7eb' } },
          { stroke: '#374151', grid: { stroke: '#e5e7eb' }, label },
        ],
        series: [
          {},
          ...data.series.map((s, i) => ({
            label: s.label,
            stroke: SERIES_COLOURS[i % SERIES_COLOURS.length],
            width: 2,
            points: { show: true, size: 6 },
            spanGaps: false,
          })),
        ],
      },
      aligned(data),
      target,
    );

  const resize = new ResizeObserver(() => plot?.setSize({ width: width(), height: HEIGHT }));
  resize.observe(target);
  return {
    update(data) {
      // Another set of groups is another set of series: drawn afresh; the same groups keep their lines.
      const groups = JSON.stringify(data.series.map((s) => s.label));
      if (plot && groups === drawn) return plot.setData(aligned(data));
      plot?.destroy();
      plot = make(data);
      drawn = groups;
    },
    destroy() {
      resize.disconnect();
      plot?.destroy();
    },
  };
}

const aligned = (data: ChartData): uPlot.AlignedData => [data.x, ...data.series.map((s) => s.values)];
