import type { StatsBucket } from '../../../../src/sdk/client.js';
import { formatNumber, formatPercent } from '../../lib/format.js';
import { DataTable, type DataColumn } from './DataTable.js';

const columns: DataColumn[] = [
  { label: 'speed_to_lead' },
  { label: 'calls', num: true, format: (v) => formatNumber(v as number) },
  { label: 'share_of_calls', num: true, format: (v) => formatPercent(v as number | null) },
];

/**
 * The share of the range's calls that reached the lead within 1, 5 and 15 minutes (cumulative, as the API
 * counts them), later, or with no speed to lead known; a bar of the exclusive parts above the table.
 */
export function Bands({ buckets, filename }: { buckets: StatsBucket[] | null; filename: string }) {
  const sum = (f: (b: StatsBucket) => number) => (buckets ?? []).reduce((n, b) => n + f(b), 0);
  const calls = sum((b) => b.calls);
  const w60 = sum((b) => b.speed_to_lead_within_60_sec);
  const w300 = sum((b) => b.speed_to_lead_within_300_sec);
  const w900 = sum((b) => b.speed_to_lead_within_900_sec);
  const over = sum((b) => b.speed_to_lead_over_900_sec);
  const unknown = sum((b) => b.speed_to_lead_unknown);
  const share = (n: number) => (calls === 0 ? null : n / calls);
  const parts = [
    ['b1', 'within 1 min', w60],
    ['b5', '1–5 min', w300 - w60],
    ['b15', '5–15 min', w900 - w300],
    ['later', 'later', over],
    ['unknown', 'unknown', unknown],
  ] as const;
  const rows = [
    ['Within 1 minute', w60, share(w60)],
    ['Within 5 minutes', w300, share(w300)],
    ['Within 15 minutes', w900, share(w900)],
    ['Later than 15 minutes', over, share(over)],
    ['Unknown (no speed to lead)', unknown, share(unknown)],
  ];
  return (
    <section class="panel" aria-labelledby="bands-heading" aria-busy={!buckets} data-bands>
      <h2 id="bands-heading" class="section-title">
        Speed to lead
      </h2>
      {buckets && calls > 0 && (
        <>
          <div class="bands" aria-hidden="true">
            {parts.map(([name, , n]) => n > 0 && <span key={name} class={`band band-${name}`} style={{ width: `${(n / calls) * 100}%` }} />)}
          </div>
          <ul class="band-legend">
            {parts.map(([name, text, n]) => (
              <li key={name}>
                <span class={`swatch band-${name}`} aria-hidden="true" /> {text}: {formatPercent(share(n))}
              </li>
            ))}
          </ul>
        </>
      )}
      {buckets && calls === 0 && <p class="muted">No calls in this range.</p>}
      {buckets && (
        <DataTable name="bands" filename={filename} columns={columns} rows={rows} caption="Calls by speed to lead: cumulative within 1, 5 and 15 minutes, later, unknown" />
      )}
    </section>
  );
}
