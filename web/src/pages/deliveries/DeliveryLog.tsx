import { Fragment } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Delivery, DeliveryFilters, Destination } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { Status } from '../../components/Status.js';
import { TableHead } from '../../components/TableHead.js';
import { When } from '../../components/When.js';
import { api } from '../../lib/api.js';
import { asText, formatDateTime, formatNumber } from '../../lib/format.js';
import { usePoll } from '../../lib/usePoll.js';
import { useZone } from '../../lib/zone.js';
import { RetryButton } from '../call-detail/Deliveries.js';
import { callHref } from '../calls/CallTable.js';
import './deliveries.css';

const pageSize = 50;
/** How often the shown page is read again while the tab is visible. */
export const pollMs = 3000;

/**
 * The deliveries of `filters`, newest first, a page at a time, read again every few seconds (the states
 * the worker records change on the page). A reload keeps the pages already loaded.
 */
export function useDeliveryLog(filters: DeliveryFilters) {
  const key = JSON.stringify(filters);
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [pages, setPages] = useState(1);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The filters shown now: an answer read for others (a re-read or "Load more" on its way when they changed) is dropped.
  const shown = useRef(key);
  shown.current = key;

  const load = useCallback(async (count: number) => {
    let cursor: string | undefined;
    const all: Delivery[] = [];
    let next: string | null = null;
    for (let i = 0; i < count; i++) {
      const page = await api.deliveries.list({ ...filters, limit: pageSize, cursor });
      all.push(...page.data);
      next = page.next_cursor;
      if (!next) break;
      cursor = next;
    }
    return { all, next };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const refresh = useCallback((count = pages) => {
    load(count).then(({ all, next }) => {
      if (shown.current !== key) return;
      setRows(all);
      setNextCursor(next);
      setError(null);
    }, (e) => shown.current === key && setError(e));
  }, [load, pages]);

  useEffect(() => {
    setRows(null);
    setPages(1);
    let cancelled = false;
    load(1).then(({ all, next }) => {
      if (cancelled) return;
      setRows(all);
      setNextCursor(next);
      setError(null);
    }, (e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [load]);
  usePoll(() => !busy && rows !== null && refresh(), pollMs);

  const loadMore = () => {
    setBusy(true);
    const count = pages + 1;
    load(count).then(({ all, next }) => {
      if (shown.current !== key) return;
      setRows(all);
      setNextCursor(next);
      setPages(count);
    }, (e) => shown.current === key && setError(e)).finally(() => setBusy(false));
  };
  return { rows, nextCursor, error, loadMore, busy, refresh: () => refresh() };
}

function Attempts({ delivery }: { delivery: Delivery }) {
  const zone = useZone();
  if (delivery.attempts.length === 0) return <p class="muted small">No attempt yet{delivery.next_attempt_at ? `: due ${formatDateTime(delivery.next_attempt_at, zone)}` : ''}.</p>;
  return (
    <ol class="attempt-list">
      {delivery.attempts.map((a) => (
        <li key={a.attempt} data-attempt={a.attempt}>
          <p class="small">
            <strong>Attempt {a.attempt}</strong> · {formatDateTime(a.attempted_at, zone)} · {a.status === null ? 'no answer' : `HTTP ${a.status}`}
            {a.latency_ms !== null && ` · ${formatNumber(Math.round(a.latency_ms))} ms`}
            {a.error && <span class="bad-text text"> · {a.error}</span>}
          </p>
          {a.response_body ? <pre class="answer">{asText(a.response_body)}</pre> : <p class="muted small">Empty answer.</p>}
        </li>
      ))}
    </ol>
  );
}

/** The last attempt's outcome in a few words. */
function lastOutcome(d: Delivery): string {
  if (d.attempt_count === 0) return '–';
  return [d.last_status === null ? 'no answer' : `HTTP ${d.last_status}`, d.last_error].filter(Boolean).join(' · ');
}

/** The delivery log's table: each row expands to every attempt; an admin gets Retry on failed and pending ones. */
export function DeliveryTable(props: {
  log: ReturnType<typeof useDeliveryLog>;
  destinations: Map<string, Destination>;
  isAdmin: boolean;
  showDestination: boolean;
  empty: string;
}) {
  const { log, destinations, isAdmin } = props;
  const zone = useZone();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: string) => setOpen((o) => {
    const next = new Set(o);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });
  const columns = ['Created', 'Status', { label: 'Event', narrow: true }, { label: 'Call', narrow: true }, ...(props.showDestination ? [{ label: 'Destination', narrow: true }] : []), { label: 'Attempts', num: true, narrow: true }, { label: 'Last answer', narrow: true }, ...(isAdmin ? [{ label: 'Action' }] : [])];
  return (
    <>
      <ErrorNote error={log.error} />
      <div class="table-wrap">
        <table class="table log-table" data-table="deliveries">
          <TableHead columns={columns} />
          <tbody>
            {log.rows === null && <SkeletonRows rows={6} cols={columns.length} />}
            {log.rows?.map((d) => {
              const destination = destinations.get(d.destination_id);
              const expanded = open.has(d.id);
              return (
                <Fragment key={d.id}>
                  <tr data-delivery={d.id} data-status={d.status}>
                    <td class="nowrap">
                      <button type="button" class="link-button expand" aria-expanded={expanded} aria-controls={`attempts-${d.id}`} onClick={() => toggle(d.id)} title="Show every attempt">
                        <span aria-hidden="true">{expanded ? '▾' : '▸'}</span> <When at={d.created_at} />
                      </button>
                    </td>
                    <td><Status status={d.status} /></td>
                    <td class="clip text hide-narrow">{asText(d.event_type ?? d.event_id)}</td>
                    <td class="clip hide-narrow">{d.call_id ? <a href={d.source_id ? callHref({ call_id: d.call_id, source_id: d.source_id }) : `/calls/${encodeURIComponent(d.call_id)}`} class="text">{d.call_id}</a> : '–'}</td>
                    {props.showDestination && (
                      <td class="clip hide-narrow">
                        <a href={`/webhooks/${d.destination_id}`} class="text">{destination ? destination.description || destination.url : d.destination_id}</a>
                      </td>
                    )}
                    <td class="num hide-narrow">{d.attempt_count}</td>
                    <td class="clip hide-narrow text" title={lastOutcome(d)}>{lastOutcome(d)}</td>
                    {isAdmin && <td class="nowrap">{(d.status === 'failed' || d.status === 'pending' || d.status === 'cancelled') && destination ? <RetryButton delivery={d} onRetried={() => log.refresh()} /> : null}</td>}
                  </tr>
                  {expanded && (
                    <tr class="attempts-row" id={`attempts-${d.id}`}>
                      <td colSpan={columns.length}>
                        <p class="small muted text">{asText(d.event_type ?? 'event')} {d.event_id} · {d.id}{d.next_attempt_at ? ` · next attempt due ${formatDateTime(d.next_attempt_at, zone)}` : ''}</p>
                        <Attempts delivery={d} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
      {log.rows?.length === 0 && <div class="panel empty" data-empty><p>{props.empty}</p></div>}
      {log.rows && log.rows.length > 0 && (
        <div class="more">
          <span class="muted small">{log.rows.length} shown{log.nextCursor ? '' : ' · the end of the log'} · refreshed every {pollMs / 1000} s</span>
          {log.nextCursor && <button type="button" onClick={log.loadMore} disabled={log.busy} data-load-more>{log.busy ? 'Loading…' : 'Load more'}</button>}
        </div>
      )}
    </>
  );
}

/** Destinations by id (the log names them), read once per page. */
export function useDestinations() {
  const [destinations, setDestinations] = useState<Destination[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = useCallback(() => {
    api.destinations.list().then((r) => { setDestinations(r.data); setError(null); }, setError);
  }, []);
  useEffect(reload, [reload]);
  return { destinations, byId: new Map((destinations ?? []).map((d) => [d.id, d])), error, reload };
}
