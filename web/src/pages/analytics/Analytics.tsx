import { useEffect, useMemo } from 'preact/hooks';
import type { Stats, StatsBucket } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { formatNumber, formatPercent, formatSeconds } from '../../lib/format.js';
import { useLocation } from '../../lib/router.js';
import { Shell } from '../../components/Shell.js';
import { useNow } from '../../lib/useNow.js';
import { useZone } from '../../lib/zone.js';
import { Bands } from './Bands.js';
import { Chart } from './Chart.js';
import type { ChartSpec } from './chart.js';
import { DataTable, type DataColumn } from './DataTable.js';
import { GroupTable, callsHref } from './GroupTable.js';
import { Heatmap, HeatmapCsv } from './Heatmap.js';
import { RangePicker } from './RangePicker.js';
import { bucketStart, readRange, type Range } from './range.js';
import { groupings, refusesRange, useAnalytics } from './useAnalytics.js';
import './analytics.css';

const seriesColumns = (bucket: Range['bucket']): DataColumn[] => [
  { label: bucket === 'hour' ? 'hour' : 'day' },
  { label: 'calls', num: true, format: (v) => (typeof v === 'number' ? formatNumber(v) : '–') },
  { label: 'answered', num: true, format: (v) => (typeof v === 'number' ? formatNumber(v) : '–') },
  { label: 'answer_rate', num: true, format: (v) => (typeof v === 'number' ? formatPercent(v) : '–') },
  { label: 'speed_to_lead_median_sec', num: true, format: (v) => (typeof v === 'number' ? formatSeconds(v) : '–') },
  { label: 'speed_to_lead_p90_sec', num: true, format: (v) => (typeof v === 'number' ? formatSeconds(v) : '–') },
];

/** The buckets that have begun: later ones are not yet, shown as gaps and left out of the tables. */
function begun(stats: Stats, zone: string, now: number): { past: StatsBucket[]; starts: number[]; all: StatsBucket[] } {
  const starts = stats.buckets.map((b) => bucketStart(b.key!, zone));
  return { past: stats.buckets.filter((_, i) => starts[i]! <= now), starts, all: stats.buckets };
}

/** Analytics: a range and zone from the URL, charts over time, the week's heatmap, speed-to-lead bands, the groups. */
export function Analytics() {
  const { query } = useLocation();
  const zone = useZone();
  const now = useNow(60_000);
  const range = readRange(query, zone, now);
  const answers = useAnalytics(range, zone);
  // The charts' code (uPlot) starts loading with the page, beside the first stats request, not after it.
  useEffect(() => void import('./chart.js'), []);
  const series = answers.series.data;
  const view = useMemo(() => {
    if (!series) return null;
    const { past, starts, all } = begun(series, zone, now);
    const x = starts.map((s) => Math.floor(s / 1000));
    const gap = <T,>(values: T[]) => values.map((v, i) => (starts[i]! <= now ? v : null));
    const base = { x, bucket: range.bucket, zone, height: 240 };
    const volume: ChartSpec = {
      ...base,
      series: [
        { label: 'Calls', values: gap(all.map((b) => b.calls)), scale: 'count', kind: 'bars', color: '--chart-calls' },
        { label: 'Answer rate', values: gap(all.map((b) => b.answer_rate)), scale: 'rate', kind: 'line', color: '--chart-rate' },
      ],
    };
    const speed: ChartSpec = {
      ...base,
      series: [
        { label: 'Median', values: gap(all.map((b) => b.speed_to_lead_median_sec)), scale: 'sec', kind: 'line', color: '--chart-calls' },
        { label: 'p90', values: gap(all.map((b) => b.speed_to_lead_p90_sec)), scale: 'sec', kind: 'line', color: '--chart-rate', dash: true },
      ],
    };
    const rows = past.map((b) => [b.key, b.calls, b.answered, b.answer_rate, b.speed_to_lead_median_sec, b.speed_to_lead_p90_sec]);
    const total = past.reduce((n, b) => n + b.calls, 0);
    const answered = past.reduce((n, b) => n + b.answered, 0);
    return { volume, speed, rows, past, total, answered };
  }, [series, zone, now, range.bucket]);
  const per = range.bucket === 'hour' ? 'hour' : 'day';
  const columns = seriesColumns(range.bucket);
  const stamp = `${range.first}_${range.last}`;
  // A range the API refuses is said once, at the top; a range the fields cannot ask for, beside them (the
  // picker). Either way no section waits for figures that will not come.
  const refused = refusesRange(answers.series.error);
  const unasked = refused || range.problem !== undefined;

  return (
    <Shell title="Analytics">
      <RangePicker range={range} />
      <ErrorNote error={answers.series.error} hint={refused ? 'Pick another range.' : undefined} />
      {!unasked && (
        <>
          {view && view.total === 0 && (
            <div class="panel empty" data-empty>
              <p>No calls between {range.first} and {range.last} ({zone}).</p>
            </div>
          )}
          <section class="panel" aria-labelledby="volume-heading" aria-busy={!view}>
            <div class="section-head">
              <h2 id="volume-heading" class="section-title">
                Calls and answer rate per {per}
              </h2>
              {view && series && (
                <p class="muted small" data-totals data-calls={view.total}>
                  <a href={callsHref(series, zone)}>{formatNumber(view.total)} {view.total === 1 ? 'call' : 'calls'}</a>, {formatNumber(view.answered)} answered ({formatPercent(view.total ? view.answered / view.total : null)})
                </p>
              )}
            </div>
            {view ? <Chart name="volume" label={`Calls (bars) and answer rate (line) per ${per}`} spec={view.volume} /> : <div class="chart-placeholder" />}
            {view && <DataTable name="series" filename={`calls-per-${per}-${stamp}.csv`} columns={columns} rows={view.rows} caption={`Calls, answer rate and speed to lead per ${per}`} />}
          </section>
          <section class="panel" aria-labelledby="speed-heading" aria-busy={!view}>
            <h2 id="speed-heading" class="section-title">
              Speed to lead per {per}: median and p90
            </h2>
            {view ? <Chart name="speed" label={`Speed to lead, median (solid) and p90 (dashed), per ${per}`} spec={view.speed} /> : <div class="chart-placeholder" />}
            {view && <DataTable name="speed" filename={`speed-to-lead-per-${per}-${stamp}.csv`} columns={[columns[0]!, columns[4]!, columns[5]!]} rows={view.rows.map((r) => [r[0], r[4], r[5]])} caption={`Speed to lead per ${per}`} />}
          </section>
          <Bands buckets={view?.past ?? null} filename={`speed-to-lead-bands-${stamp}.csv`} />
          <section class="panel" aria-labelledby="week-heading" aria-busy={!answers.week.data}>
            <div class="section-head">
              <h2 id="week-heading" class="section-title">
                By weekday and hour <span class="muted small">({zone})</span>
              </h2>
              {answers.week.data && <HeatmapCsv cells={answers.week.data.buckets} />}
            </div>
            <ErrorNote error={answers.week.error} />
            {answers.week.data ? (
              <div class="heatmaps">
                <div>
                  <h3 class="sub-title">Calls</h3>
                  <Heatmap cells={answers.week.data.buckets} measure="calls" zone={zone} />
                </div>
                <div>
                  <h3 class="sub-title">Answer rate</h3>
                  <Heatmap cells={answers.week.data.buckets} measure="answer_rate" zone={zone} />
                </div>
              </div>
            ) : (
              !answers.week.error && <div class="chart-placeholder" />
            )}
          </section>
          <div class="group-tables">
            {groupings.map((g) => (
              <GroupTable key={g} group={g} answer={answers[g]} zone={zone} sort={query.get(`${g}_sort`)} />
            ))}
          </div>
        </>
      )}
      <p class="muted small">
        Switchboard sees calls, not leads: a lead that was never called is in none of these figures. A call counts at its start in {zone}.
      </p>
    </Shell>
  );
}
