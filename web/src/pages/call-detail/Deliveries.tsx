import type { Delivery, Destination } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Status } from '../../components/Status.js';
import { TableHead } from '../../components/TableHead.js';
import { api } from '../../lib/api.js';
import { useAction } from '../../lib/action.js';
import { asText, formatDateTime, formatNumber } from '../../lib/format.js';
import { useZone } from '../../lib/zone.js';
import type { DeliverySummary } from './useCallDetail.js';

/** Sends one delivery again (an admin's control; the delivery log uses it too). */
export function RetryButton({ delivery, onRetried }: { delivery: Delivery; onRetried: (d: Delivery) => void }) {
  const retry = useAction();
  return (
    <>
      <button type="button" onClick={() => void retry.run(async () => onRetried(await api.deliveries.retry(delivery.id)))} disabled={retry.busy} data-retry={delivery.id}>
        {retry.busy ? 'Retrying…' : 'Retry'}
      </button>
      <ErrorNote error={retry.error} />
    </>
  );
}

function Attempts({ delivery }: { delivery: Delivery }) {
  const zone = useZone();
  if (delivery.attempts.length === 0) return <p class="muted small">No attempt yet.</p>;
  return (
    <div class="table-wrap">
      <table class="table attempts">
        <caption class="visually-hidden">Attempts of {delivery.id}</caption>
        <TableHead columns={['#', 'Time', { label: 'Status', num: true }, { label: 'Latency', num: true }, 'Answer / error']} />
        <tbody>
          {delivery.attempts.map((a) => (
            <tr key={a.attempt}>
              <td>{a.attempt}</td>
              <td class="nowrap">{formatDateTime(a.attempted_at, zone)}</td>
              <td class="num">{a.status ?? '–'}</td>
              <td class="num">{a.latency_ms === null ? '–' : `${formatNumber(a.latency_ms)} ms`}</td>
              <td class="text excerpt">{a.error ? <span class="bad-text">{a.error}</span> : null} {asText(a.response_body ?? (a.error ? '' : null))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Per destination: the summary every reader sees; for an admin, each delivery with its attempts and a
 * Retry button (a viewer gets no button rather than a dead one).
 */
export function Deliveries(props: {
  summary: DeliverySummary[];
  deliveries: Delivery[] | null;
  destinations: Map<string, Destination>;
  error: unknown;
  isAdmin: boolean;
  onRetried: (d: Delivery) => void;
}) {
  const zone = useZone();
  const byDestination = new Map<string, Delivery[]>();
  for (const d of props.deliveries ?? []) byDestination.set(d.destination_id, [...(byDestination.get(d.destination_id) ?? []), d]);
  return (
    <section class="panel" aria-labelledby="deliveries-heading">
      <h2 id="deliveries-heading" class="section-title">
        Deliveries
      </h2>
      <ErrorNote error={props.error} />
      {props.summary.length === 0 && <p class="muted">No destination received this call's events.</p>}
      {props.summary.map((s) => {
        const destination = props.destinations.get(s.destination_id);
        return (
          <div key={s.destination_id} class="destination" data-destination={s.destination_id}>
            <h3 class="sub-title text">{destination ? destination.url : s.destination_id}</h3>
            <p class="small">
              {s.delivered} delivered · {s.pending} pending · {s.failed} failed
              {s.last_attempt_at && ` · last attempt ${formatDateTime(s.last_attempt_at, zone)}`}
              {s.last_status !== null && ` · HTTP ${s.last_status}`}
              {s.last_error && <span class="bad-text text"> · {s.last_error}</span>}
            </p>
            {(byDestination.get(s.destination_id) ?? []).map((d) => (
              <div key={d.id} class="delivery" data-delivery={d.id} data-status={d.status}>
                <div class="delivery-head">
                  <Status status={d.status} />
                  <span class="muted small">
                    {d.id} · event {d.event_id} · {d.attempt_count} {d.attempt_count === 1 ? 'attempt' : 'attempts'}
                    {d.next_attempt_at && ` · next ${formatDateTime(d.next_attempt_at, zone)}`}
                  </span>
                  {props.isAdmin && (d.status === 'failed' || d.status === 'pending') && <RetryButton delivery={d} onRetried={props.onRetried} />}
                </div>
                <Attempts delivery={d} />
              </div>
            ))}
          </div>
        );
      })}
    </section>
  );
}
