import { ErrorNote } from '../../components/ErrorNote.js';
import { formatNumber, formatPercent, formatSeconds } from '../../lib/format.js';
import type { Call } from '../../../../src/sdk/client.js';
import type { Figures as FigureSet, Today } from './useToday.js';

function delta(now: number, then: number, unit: string): string {
  const d = Math.round(now - then);
  return `${d > 0 ? '+' : d < 0 ? '−' : '±'}${formatNumber(Math.abs(d))} ${unit}`;
}

function Figure({ name, label, value, shown, note }: { name: string; label: string; value: number | null; shown: string; note?: string }) {
  return (
    <div class="figure" data-figure={name} data-value={value ?? ''}>
      <dt>{label}</dt>
      <dd>
        <span class="figure-value" key={shown}>
          {shown}
        </span>
        {note && <span class="figure-note">{note}</span>}
      </dd>
    </div>
  );
}

/** Today's headline figures, each with yesterday at the same time beside it. */
/**
 * Today's calls still in progress: counted among the day's calls (by their start, as /v1/stats counts them),
 * neither answered nor missed yet.
 */
function inProgressSince(calls: Call[] | null, from: string): number {
  const start = Date.parse(from);
  return (calls ?? []).filter((c) => Date.parse(c.started_at ?? c.first_event_at) >= start).length;
}

export function Figures({ data, error, inProgress }: { data: Today | null; error: unknown; inProgress: Call[] | null }) {
  if (error && !data) return <ErrorNote error={error} />;
  if (!data) return <dl class="figures skeleton-figures" aria-busy="true" aria-label="Today's figures, loading" />;
  const t: FigureSet = data.today;
  const y: FigureSet = data.yesterday;
  const ongoing = inProgressSince(inProgress, data.range.from);
  const missed = Math.max(0, t.calls - t.answered - ongoing);
  return (
    <section aria-labelledby="today-heading">
      <h2 id="today-heading" class="section-title">
        Today <span class="muted small">(vs yesterday at this time)</span>
      </h2>
      <dl class="figures" data-ready="true" data-figures-range data-from={data.range.from} data-to={data.range.to}>
        <Figure name="calls" label="Calls" value={t.calls} shown={formatNumber(t.calls)} note={`${delta(t.calls, y.calls, 'calls')}${ongoing > 0 ? ` · ${formatNumber(ongoing)} in progress` : ''}`} />
        <Figure name="answered" label="Answered" value={t.answered} shown={formatNumber(t.answered)} note={t.answer_rate === null ? undefined : `${formatPercent(t.answer_rate)} of calls`} />
        <Figure
          name="answer_rate"
          label="Answer rate"
          value={t.answer_rate}
          shown={formatPercent(t.answer_rate)}
          note={t.answer_rate !== null && y.answer_rate !== null ? delta(t.answer_rate * 100, y.answer_rate * 100, 'pts') : undefined}
        />
        <Figure name="missed" label="Missed" value={missed} shown={formatNumber(missed)} note={delta(missed, y.calls - y.answered, 'calls')} />
        <Figure name="stl_median" label="Speed to lead, median" value={t.speed_to_lead_median_sec} shown={formatSeconds(t.speed_to_lead_median_sec)} note={`yesterday ${formatSeconds(y.speed_to_lead_median_sec)}`} />
        <Figure name="stl_p90" label="Speed to lead, p90" value={t.speed_to_lead_p90_sec} shown={formatSeconds(t.speed_to_lead_p90_sec)} note={`yesterday ${formatSeconds(y.speed_to_lead_p90_sec)}`} />
      </dl>
    </section>
  );
}
