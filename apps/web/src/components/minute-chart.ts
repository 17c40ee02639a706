// The per-minute chart, drawn by uPlot. Loaded only by the pages that show it, so the overview's
// scripts stay small. uPlot styles through the CSSOM and its own stylesheet: no inline style.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface MinuteChart {
  /** The counts, over the range [from, to) (ISO times). */
  update(minutes: { minute: string; count: number }[], from: string, to: string): void;
  destroy(): void;
}

export function minuteChart(target: HTMLElement, label: string): MinuteChart {
  const width = () => Math.max(280, target.clientWidth);
  const bars = uPlot.paths.bars!({ size: [0.8, 40] });
  const plot = new uPlot(
    {
      width: width(),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: '#374151', grid: { stroke: '#e5e7eb' } },
        { stroke: '#374151', grid: { stroke: '#e5e7eb' }, label },
      ],
      series: [{}, { label, stroke: '#1d4ed8', fill: 'rgba(29, 78, 216, 0.35)', width: 1, paths: bars, points: { show: false } }],
    },
    [[], []],
    target,
  );
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
  resize.observe(target);
  return {
    update(minutes, from, to) {
      plot.setData([minutes.map((m) => Date.parse(m.minute) / 1000), minutes.map((m) => m.count)], false);
      plot.setScale('x', { min: Date.parse(from) / 1000, max: Date.parse(to) / 1000 });
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
