import { useEffect, useState } from 'preact/hooks';
import type { Delivery } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Shell } from '../../components/Shell.js';
import { useLocation } from '../../lib/router.js';
import { sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';
import { Deliveries } from './Deliveries.js';
import { Header } from './Header.js';
import { People } from './People.js';
import { Timeline } from './Timeline.js';
import { useCallDetail, useDeliveries } from './useCallDetail.js';

/** One call: record, lead and agent, recording, timeline with raw payloads, deliveries with attempts. */
export function CallDetail({ callId }: { callId: string }) {
  const { query } = useLocation();
  const session = useStore(sessionStore);
  const isAdmin = session?.user.role === 'admin';
  const { call, error, reload } = useCallDetail(callId, query.get('source_id'));
  const [version, setVersion] = useState(0);
  const eventIds = call?.events.map((e) => e.id) ?? [];
  const deliveries = useDeliveries(eventIds, version);
  const pending = deliveries.deliveries?.some((d) => d.status === 'pending') ?? false;
  // While a delivery is pending (a retry under way), its outcome is looked for every second.
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => {
      setVersion((v) => v + 1);
      reload();
    }, 1000);
    return () => clearTimeout(timer);
  }, [pending, version, reload]);
  const onRetried = (d: Delivery) => {
    deliveries.setDeliveries((list) => list?.map((x) => (x.id === d.id ? d : x)) ?? null);
    setVersion((v) => v + 1);
  };
  return (
    <Shell title="Call">
      <p class="crumbs">
        <a href="/calls">← Calls</a>
      </p>
      <ErrorNote error={error} hint={(error as { code?: string } | null)?.code === 'not_found' ? 'Check the call id, or find the call on the calls page.' : undefined} />
      {!call && !error && <p class="muted" aria-busy="true">Loading…</p>}
      {call && (
        <>
          <Header call={call} />
          <People call={call} />
          <Timeline events={call.events} />
          <Deliveries summary={call.deliveries} deliveries={deliveries.deliveries} destinations={deliveries.destinations} error={deliveries.error} isAdmin={isAdmin} onRetried={onRetried} />
        </>
      )}
    </Shell>
  );
}
