import { useState } from 'preact/hooks';
import type { Destination, DestinationHealthList, DestinationSettings } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { formatNumber } from '../../lib/format.js';
import './webhooks.css';

export type Health = DestinationHealthList['data'][number];

/**
 * A destination's state as a label with its colour: active, failing (its last attempts failed: the
 * navigation counts it too), paused, or disabled and why.
 */
export function StateLabel({ destination }: { destination: Destination }) {
  const [label, kind] =
    destination.status === 'disabled' ? ['disabled', 'bad']
    : destination.status === 'paused' ? ['paused', 'pending']
    : destination.failing_since ? ['failing', 'bad']
    : ['active', 'ok'];
  return (
    <span class="state" data-state={label}>
      <span class={`status status-${kind}`}>{label}</span>
      {destination.status === 'disabled' && destination.disabled_reason && <span class="small muted text"> {destination.disabled_reason}</span>}
    </span>
  );
}

/** The last 24 hours as bars (delivered, failed on top), with the same figures as text for a screen reader. */
export function Sparkline({ health }: { health: Health | undefined }) {
  if (!health) return <span class="muted">–</span>;
  const totals = health.hourly.map((b) => b.delivered + b.failed + b.pending);
  const max = Math.max(1, ...totals);
  const width = 96;
  const height = 24;
  const step = width / health.hourly.length;
  const text = `Last 24 hours: ${formatNumber(health.delivered)} delivered, ${formatNumber(health.failed)} failed, ${formatNumber(health.hourly.reduce((n, b) => n + b.pending, 0))} still pending; busiest hour ${formatNumber(Math.max(0, ...totals))} deliveries`;
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={text}>
      <title>{text}</title>
      <line x1="0" y1={height - 0.5} x2={width} y2={height - 0.5} class="spark-base" />
      {health.hourly.map((b, i) => {
        // Stacked from the base line: failed, delivered, then still pending.
        let top = height - 1;
        return (
          <g key={b.start}>
            {(['failed', 'delivered', 'pending'] as const).map((status) => {
              const h = (b[status] / max) * (height - 2);
              if (h <= 0) return null;
              top -= h;
              return <rect key={status} x={i * step + 0.5} y={top} width={step - 1} height={h} class={`spark-${status}`} />;
            })}
          </g>
        );
      })}
    </svg>
  );
}

const lines = (value: string) => value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
const listOrNull = (value: string) => (lines(value).length > 0 ? lines(value) : null);
const intOrNull = (value: string) => (value.trim() === '' ? null : Number(value));

/** Headers as the form shows them: one `Name: value` a line. */
function headersText(headers: Record<string, string> | null): string {
  return Object.entries(headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

function parseHeaders(text: string): Record<string, string> | null {
  const entries = text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const colon = l.indexOf(':');
    return colon < 0 ? [l, ''] : [l.slice(0, colon).trim(), l.slice(colon + 1).trim()];
  });
  return entries.length > 0 ? Object.fromEntries(entries) : null;
}

/**
 * A destination's settings, to create one or edit one: the server judges every value (its message is
 * shown under the form). Lists take one item a line or commas.
 */
export function DestinationForm(props: { initial?: Destination; submitLabel: string; onSubmit: (settings: DestinationSettings & { url: string }) => Promise<void>; onCancel?: () => void }) {
  const d = props.initial;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget as HTMLFormElement);
    const get = (name: string) => String(f.get(name) ?? '');
    setBusy(true);
    setError(null);
    try {
      await props.onSubmit({
        url: get('url').trim(),
        description: get('description').trim() || null,
        event_types: listOrNull(get('event_types')),
        widget_keys: listOrNull(get('widget_keys')),
        call_statuses: listOrNull(get('call_statuses')),
        headers: parseHeaders(get('headers')),
        rate_limit_per_sec: intOrNull(get('rate_limit_per_sec')),
        max_concurrency: intOrNull(get('max_concurrency')),
      });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="destination-form" onSubmit={submit} data-form="destination">
      <label class="field wide"><span>URL (https)</span><input name="url" type="url" required defaultValue={d?.url ?? ''} placeholder="https://hooks.example.com/convolo" /></label>
      <label class="field wide"><span>Description</span><input name="description" defaultValue={d?.description ?? ''} /></label>
      <label class="field"><span>Event types (empty: every call event)</span><textarea name="event_types" rows={2} defaultValue={(d?.event_types ?? []).join('\n')} placeholder="call.ended" /></label>
      <label class="field"><span>Widget keys (empty: all)</span><textarea name="widget_keys" rows={2} defaultValue={(d?.widget_keys ?? []).join('\n')} /></label>
      <label class="field"><span>Call statuses (empty: all)</span><textarea name="call_statuses" rows={2} defaultValue={(d?.call_statuses ?? []).join('\n')} placeholder="answered" /></label>
      <label class="field"><span>Headers (Name: value, one a line)</span><textarea name="headers" rows={2} defaultValue={headersText(d?.headers ?? null)} /></label>
      <label class="field"><span>Rate limit (requests/s)</span><input name="rate_limit_per_sec" type="number" min={1} max={10000} defaultValue={d?.rate_limit_per_sec?.toString() ?? ''} /></label>
      <label class="field"><span>Concurrency (requests in flight)</span><input name="max_concurrency" type="number" min={1} max={1000} defaultValue={d?.max_concurrency?.toString() ?? ''} /></label>
      <div class="filter-actions wide">
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Saving…' : props.submitLabel}</button>
        {props.onCancel && <button type="button" onClick={props.onCancel}>Cancel</button>}
      </div>
      <div class="wide"><ErrorNote error={error} /></div>
    </form>
  );
}

/** A secret shown once, with a copy button. */
export function SecretOnce({ secret, note }: { secret: string; note: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" data-secret>
      <p class="small">{note}</p>
      <div class="secret-row">
        <code class="text" data-secret-value>{secret}</code>
        <button type="button" onClick={() => navigator.clipboard?.writeText(secret).then(() => setCopied(true), () => setCopied(false))}>{copied ? 'Copied' : 'Copy'}</button>
      </div>
    </div>
  );
}
