import { useMemo } from 'preact/hooks';
import type { DeliveryFilters } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Shell } from '../../components/Shell.js';
import { setQuery, useLocation } from '../../lib/router.js';
import { sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';
import { DeliveryTable, useDeliveryLog, useDestinations } from './DeliveryLog.js';

const statuses = ['pending', 'delivered', 'failed', 'cancelled'] as const;

/** The filters the URL holds (destination, several statuses, event type, call id), as the API takes them. */
export function readLogFilters(query: URLSearchParams): DeliveryFilters {
  const filters: DeliveryFilters = {};
  const status = (query.get('status') ?? '').split(',').filter((s) => (statuses as readonly string[]).includes(s));
  if (status.length > 0) filters.status = status.join(',');
  for (const name of ['destination_id', 'event_type', 'call_id'] as const) {
    const value = query.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

/** The delivery log: every delivery, newest first, filtered in the URL; each row shows every attempt. */
export function Deliveries() {
  const { query } = useLocation();
  const session = useStore(sessionStore);
  const isAdmin = session?.user.role === 'admin';
  const filters = useMemo(() => readLogFilters(query), [query.toString()]);
  const log = useDeliveryLog(filters);
  const destinations = useDestinations();
  const chosen = new Set(filters.status?.split(',') ?? []);
  const toggle = (status: string) => {
    const next = new Set(chosen);
    if (next.has(status)) next.delete(status);
    else next.add(status);
    setQuery({ status: statuses.filter((s) => next.has(s)).join(',') });
  };
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setQuery({ event_type: String(form.get('event_type') ?? '').trim(), call_id: String(form.get('call_id') ?? '').trim() });
  };
  const filtered = Object.keys(filters).length > 0;
  return (
    <Shell title="Deliveries">
      <form class="filters" role="search" aria-label="Filter deliveries" onSubmit={submit} key={query.toString()}>
        <fieldset class="chips">
          <legend class="visually-hidden">Status (several at once)</legend>
          <button type="button" class="chip" aria-pressed={chosen.size === 0} onClick={() => setQuery({ status: null })} data-status="">All</button>
          {statuses.map((s) => (
            <button type="button" key={s} class="chip" aria-pressed={chosen.has(s)} onClick={() => toggle(s)} data-status={s}>{s}</button>
          ))}
        </fieldset>
        <div class="fields">
          <label class="field">
            <span>Destination</span>
            <select name="destination_id" value={filters.destination_id ?? ''} onChange={(e) => setQuery({ destination_id: (e.target as HTMLSelectElement).value })}>
              <option value="">All destinations</option>
              {destinations.destinations?.map((d) => <option key={d.id} value={d.id}>{d.description || d.url}</option>)}
              {filters.destination_id && !destinations.byId.has(filters.destination_id) && <option value={filters.destination_id}>{filters.destination_id}</option>}
            </select>
          </label>
          <label class="field">
            <span>Event type</span>
            <input name="event_type" defaultValue={filters.event_type ?? ''} placeholder="call.ended" list="event-types" />
          </label>
          <label class="field">
            <span>Call id</span>
            <input name="call_id" defaultValue={filters.call_id ?? ''} />
          </label>
          <div class="filter-actions">
            <button type="submit" class="primary">Apply</button>
            <a href="/deliveries" class="button">Clear</a>
          </div>
        </div>
        <datalist id="event-types">
          {['call.started', 'call.ended', 'call.stale', 'switchboard.delivery.failed', 'switchboard.destination.disabled'].map((t) => <option key={t} value={t} />)}
        </datalist>
      </form>
      <ErrorNote error={destinations.error} />
      <DeliveryTable
        log={log}
        destinations={destinations.byId}
        isAdmin={isAdmin}
        showDestination
        empty={filtered ? 'No delivery matches these filters.' : 'No deliveries yet. Each event sent to a destination appears here.'}
      />
    </Shell>
  );
}
