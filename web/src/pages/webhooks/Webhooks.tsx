import { useCallback, useEffect, useState } from 'preact/hooks';
import type { DestinationHealthList, DestinationWithSecret } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Shell } from '../../components/Shell.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { TableHead } from '../../components/TableHead.js';
import { When } from '../../components/When.js';
import { api } from '../../lib/api.js';
import { formatNumber } from '../../lib/format.js';
import { sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';
import { usePoll } from '../../lib/usePoll.js';
import { useDestinations } from '../deliveries/DeliveryLog.js';
import { DestinationForm, SecretOnce, Sparkline, StateLabel, type Health } from './parts.js';

/** Each destination's last 24 hours, read again every few seconds while the tab is visible. */
export function useHealth() {
  const [health, setHealth] = useState<Map<string, Health> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api.destinations.health().then((h: DestinationHealthList) => {
      setHealth(new Map(h.data.map((d) => [d.destination_id, d])));
      setError(null);
    }, setError);
  }, []);
  useEffect(load, [load]);
  usePoll(load, 5000);
  return { health, error, reload: load };
}

/** Webhooks: the destinations with their health at a glance; an admin creates one here. */
export function Webhooks() {
  const session = useStore(sessionStore);
  const isAdmin = session?.user.role === 'admin';
  const list = useDestinations();
  const health = useHealth();
  usePoll(list.reload, 5000);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<DestinationWithSecret | null>(null);
  const create = async (settings: Parameters<typeof api.destinations.create>[0]) => {
    const d = await api.destinations.create(settings);
    setCreated(d);
    setCreating(false);
    list.reload();
    health.reload();
  };
  return (
    <Shell
      title="Webhooks"
      actions={
        <>
          {/* The navigation has no entry of its own for the log: it is reached from here and from each destination. */}
          <a href="/deliveries" class="button">Delivery log</a>
          {isAdmin && !creating && <button type="button" class="primary" onClick={() => { setCreating(true); setCreated(null); }} data-action="new">New destination</button>}
        </>
      }
    >
      {creating && (
        <section class="panel" aria-labelledby="new-heading">
          <h2 id="new-heading" class="section-title">New destination</h2>
          <DestinationForm submitLabel="Create" onSubmit={create} onCancel={() => setCreating(false)} />
        </section>
      )}
      {created && (
        <section class="panel" aria-labelledby="created-heading" data-created={created.id}>
          <h2 id="created-heading" class="section-title">Created <a href={`/webhooks/${created.id}`} class="text">{created.url}</a></h2>
          <SecretOnce secret={created.secret} note="The signing secret: configure your receiver with it to verify our signatures. It is shown here once; an admin can reveal or rotate it on the destination's page." />
        </section>
      )}
      <ErrorNote error={list.error ?? health.error} />
      <div class="table-wrap">
        <table class="table hooks-table" data-table="destinations">
          <TableHead columns={['Destination', 'State', { label: '24 h', narrow: true }, { label: 'Delivered', num: true, narrow: true }, { label: 'Failed', num: true }, { label: 'Pending', num: true }, { label: 'Last error', narrow: true }]} />
          <tbody>
            {list.destinations === null && <SkeletonRows rows={3} cols={7} />}
            {list.destinations?.map((d) => {
              const h = health.health?.get(d.id);
              return (
                <tr key={d.id} data-destination={d.id}>
                  <td class="clip url">
                    <a href={`/webhooks/${d.id}`} class="text" title={d.url}>{d.description || d.url}</a>
                    {d.description && <div class="small muted clip text">{d.url}</div>}
                  </td>
                  <td><StateLabel destination={d} /></td>
                  <td class="hide-narrow"><Sparkline health={h} /></td>
                  <td class="num hide-narrow" data-count="delivered">{formatNumber(h?.delivered)}</td>
                  <td class="num" data-count="failed">{formatNumber(h?.failed)}</td>
                  <td class="num" data-count="pending">{formatNumber(h?.pending)}</td>
                  <td class="clip hide-narrow">
                    {h?.last_error ? (
                      <span class="small" title={h.last_error.error}>
                        <When at={h.last_error.at} /> · {h.last_error.status === null ? 'no answer' : `HTTP ${h.last_error.status}`} · <span class="bad-text text">{h.last_error.error}</span>
                      </span>
                    ) : '–'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {list.destinations?.length === 0 && (
        <div class="panel empty" data-empty>
          <p>No destinations yet. {isAdmin ? 'Add one to send every call event to your system as a signed webhook.' : 'An admin adds them.'}</p>
        </div>
      )}
    </Shell>
  );
}
