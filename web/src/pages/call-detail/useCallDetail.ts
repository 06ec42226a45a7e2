import { useCallback, useEffect, useState } from 'preact/hooks';
import type { CallDetail as Detail, Delivery, Destination } from '../../../../src/sdk/client.js';
import { api } from '../../lib/api.js';
import { debounce } from '../../lib/debounce.js';
import { onLiveEvent } from '../../lib/live.js';

/** A destination's deliveries of this call as `GET /v1/calls/{id}` summarises them (read scope). */
export interface DeliverySummary {
  destination_id: string;
  pending: number;
  delivered: number;
  failed: number;
  cancelled: number;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
}

export type CallDetailData = Detail & { deliveries: DeliverySummary[] };

/** The call, re-read when the stream brings one of its events (its timeline and record change). */
export function useCallDetail(callId: string, sourceId: string | null) {
  const [call, setCall] = useState<CallDetailData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let cancelled = false;
    api.calls
      .get(callId, sourceId ? { source_id: sourceId } : {})
      .then((c) => {
        if (!cancelled) {
          setCall(c as CallDetailData);
          setError(null);
        }
      })
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [callId, sourceId, version]);
  useEffect(() => {
    const reload = debounce(() => setVersion((v) => v + 1), 300);
    const off = onLiveEvent(({ envelope }) => {
      if (envelope.call_id === callId && (!sourceId || envelope.source_id === sourceId)) reload();
    });
    return () => {
      off();
      reload.cancel();
    };
  }, [callId, sourceId]);
  return { call, error, reload: useCallback(() => setVersion((v) => v + 1), []) };
}

/**
 * Every delivery of the call's events with its attempts (`GET /v1/deliveries?event_id=`, `read` scope: a
 * viewer sees them too) and the destinations' URLs.
 */
export function useDeliveries(eventIds: string[], version: number) {
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [destinations, setDestinations] = useState<Map<string, Destination>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const key = eventIds.join(',');
  useEffect(() => {
    if (eventIds.length === 0) return;
    let cancelled = false;
    Promise.all([Promise.all(eventIds.map((id) => api.deliveries.list({ event_id: id, limit: 100 }))), api.destinations.list()])
      .then(([pages, dests]) => {
        if (cancelled) return;
        setDeliveries(pages.flatMap((p) => p.data));
        setDestinations(new Map(dests.data.map((d) => [d.id, d])));
        setError(null);
      })
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, version]);
  return { deliveries, destinations, error, setDeliveries };
}
