import type { Stats, StatsBucket } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { asText, formatDuration, formatNumber, formatPercent, formatSeconds } from '../../lib/format.js';
import { setQuery } from '../../lib/router.js';
import { CsvButton, type DataColumn } from './DataTable.js';
import type { Grouping } from './useAnalytics.js';

/** Each grouping: its heading, the calls filter its key is, what a row without a key is. */
export const groupInfo: Record<Grouping, { title: string; column: string; filter: string; none: string }> = {
  agent: { title: 'Per agent', column: 'Agent', filter: 'agent_id', none: 'No agent' },
  widget: { title: 'Per widget', column: 'Widget', filter: 'widget_key', none: 'No widget' },
  source: { title: 'Per source', column: 'Source', filter: 'source_id', none: 'No source' },
  disconnected_by: { title: 'Per who hung up (disconnected_by)', column: 'Disconnected by', filter: 'disconnected_by', none: 'Not told' },
};

type SortKey = 'name' | 'calls' | 'answered' | 'answer_rate' | 'speed_to_lead_median_sec' | 'talk_time_mean_sec';
const columns: Array<{ key: SortKey; label: string; num: boolean; narrow?: boolean }> = [
  { key: 'name', label: '', num: false },
  { key: 'calls', label: 'Calls', num: true },
  { key: 'answered', label: 'Answered', num: true, narrow: true },
  { key: 'answer_rate', label: 'Answer rate', num: true },
  { key: 'speed_to_lead_median_sec', label: 'Speed to lead, median', num: true },
  { key: 'talk_time_mean_sec', label: 'Talk time, mean', num: true, narrow: true },
];

/** The calls page showing exactly the calls a bucket counts: the same instants (the stats' time) and its key. */
export function callsHref(stats: Pick<Stats, 'from' | 'to'>, zone: string, filter?: { name: string; value: string }): string {
  const query = new URLSearchParams({ started_from: stats.from, started_to: stats.to });
  if (filter) query.set(filter.name, filter.value);
  query.set('tz', zone);
  return `/calls?${query}`;
}

const label = (b: StatsBucket, group: Grouping) => (b.key === null ? groupInfo[group].none : (b.name ?? b.key));

/** Sorted by `?{group}_sort=` (a column, `-` first for descending); the API's order (most calls first) otherwise. */
function sorted(buckets: StatsBucket[], group: Grouping, sort: string | null): StatsBucket[] {
  if (!sort) return buckets;
  const desc = sort.startsWith('-');
  const key = (desc ? sort.slice(1) : sort) as SortKey;
  if (!columns.some((c) => c.key === key)) return buckets;
  const value = (b: StatsBucket) => (key === 'name' ? label(b, group).toLowerCase() : b[key]);
  return [...buckets].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    // Empty values last, whichever the direction.
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const order = x < y ? -1 : x > y ? 1 : 0;
    return desc ? -order : order;
  });
}

export function GroupTable({ group, answer, zone, sort }: { group: Grouping; answer: { data: Stats | null; error: unknown }; zone: string; sort: string | null }) {
  const info = groupInfo[group];
  const param = `${group}_sort`;
  const data = answer.data;
  const rows = data ? sorted(data.buckets, group, sort) : null;
  const current = sort?.replace(/^-/, '') ?? 'calls';
  const direction = sort ? (sort.startsWith('-') ? 'descending' : 'ascending') : 'descending';
  const csvColumns: DataColumn[] = [{ label: group }, { label: 'name' }, ...columns.slice(1).map((c) => ({ label: c.key, num: true }))];
  return (
    <section class="panel" aria-labelledby={`${group}-heading`} data-group={group}>
      <div class="section-head">
        <h2 id={`${group}-heading`} class="section-title">
          {info.title}
        </h2>
        {rows && rows.length > 0 && (
          <CsvButton filename={`calls-per-${group.replace('_', '-')}.csv`} columns={csvColumns} rows={rows.map((b) => [b.key, b.name ?? null, b.calls, b.answered, b.answer_rate, b.speed_to_lead_median_sec, b.talk_time_mean_sec])} />
        )}
      </div>
      <ErrorNote error={answer.error} />
      {rows && rows.length === 0 ? (
        <p class="muted">No calls in this range.</p>
      ) : (
        <div class="table-wrap">
          <table class="table group-table" data-table={group}>
            <thead>
              <tr>
                {columns.map((c) => {
                  const active = current === c.key;
                  const next = active && direction === 'descending' ? c.key : `-${c.key}`;
                  return (
                    <th key={c.key} scope="col" class={[c.num ? 'num' : '', c.narrow ? 'hide-narrow' : ''].join(' ').trim() || undefined} aria-sort={active ? direction : undefined}>
                      <button type="button" class="sort" onClick={() => setQuery({ [param]: next === '-calls' ? null : next }, { replace: true })}>
                        {c.label || info.column}
                        <span aria-hidden="true">{active ? (direction === 'descending' ? ' ▾' : ' ▴') : ''}</span>
                      </button>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {rows === null && !answer.error && <SkeletonRows rows={3} cols={6} />}
              {rows?.map((b) => (
                <tr key={b.key ?? ''} data-key={b.key ?? ''}>
                  <td class="clip">
                    {b.key === null || !data ? (
                      <span class="muted" title="The calls list cannot filter on a missing value">
                        {info.none}
                      </span>
                    ) : (
                      <a href={callsHref(data, zone, { name: info.filter, value: b.key })} title={b.name ? `${b.name} (${b.key})` : b.key}>
                        {asText(label(b, group))}
                      </a>
                    )}
                  </td>
                  <td class="num">{formatNumber(b.calls)}</td>
                  <td class="num hide-narrow">{formatNumber(b.answered)}</td>
                  <td class="num">{formatPercent(b.answer_rate)}</td>
                  <td class="num">{formatSeconds(b.speed_to_lead_median_sec)}</td>
                  <td class="num hide-narrow">{formatDuration(b.talk_time_mean_sec)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
