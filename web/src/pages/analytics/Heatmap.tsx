import type { StatsBucket } from '../../../../src/sdk/client.js';
import { formatNumber, formatPercent } from '../../lib/format.js';
import { CsvButton, type DataColumn } from './DataTable.js';

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

type Measure = 'calls' | 'answer_rate';

/**
 * Calls or answer rate per weekday × local hour: an HTML table (readable by a screen reader, every cell a
 * number), shaded by value. Cells the range does not reach (`hours` 0, or later than now) are blank and say
 * so, not zero.
 */
export function Heatmap({ cells, measure, zone }: { cells: StatsBucket[]; measure: Measure; zone: string }) {
  const value = (c: StatsBucket) => (measure === 'calls' ? c.calls : c.answer_rate);
  const max = Math.max(0, ...cells.map((c) => (measure === 'calls' ? c.calls : 1)));
  const byKey = new Map(cells.map((c) => [c.key, c]));
  const title = measure === 'calls' ? 'Calls' : 'Answer rate';
  return (
    <div class="heatmap-wrap" data-heatmap={measure}>
      <div class="table-wrap" tabIndex={0} role="region" aria-label={`${title} per weekday and hour`}>
        <table class="heatmap">
          <caption class="visually-hidden">
            {title} per weekday and hour, {zone}
          </caption>
          <thead>
            <tr>
              <td />
              {hours.map((h) => (
                <th key={h} scope="col" abbr={`${h}:00`}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {weekdays.map((day, d) => (
              <tr key={day}>
                <th scope="row" abbr={day}>
                  {day.slice(0, 3)}
                </th>
                {hours.map((h) => {
                  const cell = byKey.get(`${d + 1}T${h}`);
                  if (!cell || cell.hours === 0) return <td key={h} class="out" title={`${day} ${h}:00: not in this range`} data-cell={`${d + 1}T${h}`} />;
                  const v = value(cell);
                  const level = v === null || max === 0 ? 0 : v / max;
                  return (
                    <td key={h} style={{ '--v': level.toFixed(3) }} data-cell={`${d + 1}T${h}`} data-calls={cell.calls} title={`${day} ${h}:00`}>
                      {measure === 'calls' ? formatNumber(cell.calls) : v === null ? '–' : formatPercent(v)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="heatmap-legend muted small">
        <span class="swatch" aria-hidden="true" />
        {measure === 'calls' ? `darker: more calls (up to ${formatNumber(max)} in one hour of the week)` : 'darker: a higher share answered (– : no calls)'}; blank: not in the range.
      </p>
    </div>
  );
}

export const heatmapColumns: DataColumn[] = [
  { label: 'weekday' }, { label: 'hour' }, { label: 'hours_in_range', num: true }, { label: 'calls', num: true }, { label: 'answered', num: true }, { label: 'answer_rate', num: true },
];

export function HeatmapCsv({ cells }: { cells: StatsBucket[] }) {
  return <CsvButton filename="calls-by-weekday-hour.csv" columns={heatmapColumns} rows={cells.map((c) => [c.weekday, c.hour, c.hours, c.calls, c.answered, c.answer_rate])} />;
}
