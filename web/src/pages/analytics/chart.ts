import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** The uPlot part of the page, loaded on demand (Chart.tsx imports it dynamically): the board never carries it. */

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  /** count: calls; rate: 0–1 on a right-hand percent axis; sec: seconds. */
  scale: 'count' | 'rate' | 'sec';
  kind: 'bars' | 'line';
  /** A CSS custom property of the page's palette (`--accent`), read when drawing: light and dark alike. */
  color: string;
  dash?: boolean;
}

export interface ChartSpec {
  /** Bucket starts, epoch seconds. */
  x: number[];
  series: ChartSeries[];
  bucket: 'hour' | 'day';
  zone: string;
  height: number;
}

const formatSeconds = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);
const axisValue: Record<ChartSeries['scale'], (v: number) => string> = {
  count: (v) => (Number.isInteger(v) ? String(v) : ''),
  rate: (v) => `${Math.round(v * 100)} %`,
  sec: formatSeconds,
};

const secondSteps = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800];

const labelFormats = new Map<string, Intl.DateTimeFormat>();
/** A time tick in the zone, in the browser's locale, 24-hour clock: `14:00`, `25 Oct`. */
function timeLabel(sec: number, spec: ChartSpec): string {
  const key = `${spec.zone}|${spec.bucket}`;
  let format = labelFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, spec.bucket === 'hour'
      ? { timeZone: spec.zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
      : { timeZone: spec.zone, day: 'numeric', month: 'short' });
    labelFormats.set(key, format);
  }
  return format.format(sec * 1000);
}

/** Draws `spec` into `el`, sized to it; `onDrawn` after each draw. Returns what removes it. */
export function drawChart(el: HTMLElement, spec: ChartSpec, onDrawn: () => void): () => void {
  const css = getComputedStyle(el);
  const color = (name: string) => css.getPropertyValue(name).trim() || '#888';
  const muted = color('--muted');
  const line = color('--line');
  const scales = [...new Set(spec.series.map((s) => s.scale))];
  const axis = (scale: ChartSeries['scale'], side: 1 | 3) => ({
    scale, side, stroke: muted, grid: { show: side === 3, stroke: line, width: 1 }, ticks: { stroke: line, width: 1 },
    values: (_u: uPlot, ticks: number[]) => ticks.map(axisValue[scale]), size: 56,
    // Durations tick at round seconds, minutes and hours (uPlot's own steps gave "33 min, 67 min").
    ...(scale === 'sec' ? { incrs: secondSteps } : {}),
  });
  // Half a bucket of room at each end, so the first and last bars are drawn whole.
  const first = spec.x[0] ?? 0;
  const half = ((spec.x[1] ?? first + (spec.bucket === 'hour' ? 3600 : 86_400)) - first) / 2;
  const opts: uPlot.Options = {
    width: Math.max(280, el.clientWidth),
    height: spec.height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), spec.zone),
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: (_u, min, max) => [min - half, max + half] },
      count: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      rate: { range: [0, 1] },
      sec: { range: (_u, _min, max) => [0, Math.max(60, max)] },
    },
    axes: [
      {
        stroke: muted, grid: { show: false }, ticks: { stroke: line, width: 1 },
        // Ticks on the buckets' own starts (hours and days in the zone, DST included), every k-th so that labels
        // keep ~70 px apart: uPlot's own steps put several ticks in one day, each labelled with that day.
        splits: (u: uPlot) => {
          const every = Math.max(1, Math.ceil(spec.x.length / Math.max(2, Math.floor(u.width / 70))));
          return spec.x.filter((_, i) => i % every === 0);
        },
        values: (_u: uPlot, ticks: number[]) => ticks.map((t) => timeLabel(t, spec)),
      },
      ...scales.map((s, i) => axis(s, i === 0 ? 3 : 1)),
    ],
    series: [
      { value: (_u, v) => (v === null ? '–' : uPlot.fmtDate(spec.bucket === 'hour' ? '{YYYY}-{MM}-{DD} {HH}:00' : '{YYYY}-{MM}-{DD}')(uPlot.tzDate(new Date(v * 1000), spec.zone))) },
      ...spec.series.map((s) => ({
        label: s.label,
        scale: s.scale,
        stroke: color(s.color),
        width: s.kind === 'bars' ? 0 : 2,
        fill: s.kind === 'bars' ? color(s.color) : undefined,
        dash: s.dash ? [6, 4] : undefined,
        paths: s.kind === 'bars' ? uPlot.paths.bars!({ size: [0.7, 40] }) : undefined,
        points: { show: spec.x.length <= 48 },
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : axisValue[s.scale](v)),
      })),
    ],
    hooks: { draw: [() => onDrawn()] },
  };
  const plot = new uPlot(opts, [spec.x, ...spec.series.map((s) => s.values)] as uPlot.AlignedData, el);
  const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: spec.height }));
  resize.observe(el);
  return () => {
    resize.disconnect();
    plot.destroy();
  };
}
