import { useEffect, useState } from 'preact/hooks';
import type { Call } from '../../../../src/sdk/client.js';
import { api } from '../../lib/api.js';
import { lastSeq, onLiveEvent, type LiveEvent } from '../../lib/live.js';

/**
 * The calls in progress now: one read of `/v1/calls?status=in_progress`, then kept current from the
 * stream. Events that arrive while the read is under way are held and applied after it, in order, so
 * the list ends as the log says whatever the read saw.
 */
export function useInProgress(): { calls: Call[] | null; error: unknown } {
  const [calls, setCalls] = useState<Map<string, Call> | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    let current: Map<string, Call> | null = null;
    const held: LiveEvent[] = [];
    const key = (call: Call) => `${call.source_id}/${call.call_id}`;
    const apply = (event: LiveEvent) => {
      const call = event.envelope.call as Call | null | undefined;
      if (!call || !current) return;
      if (call.status === 'in_progress') current.set(key(call), call);
      else current.delete(key(call));
    };
    const off = onLiveEvent((event) => {
      if (!current) return void held.push(event);
      apply(event);
      setCalls(new Map(current));
    });
    const seen = lastSeq.get() ?? 0;
    api.calls
      .list({ status: 'in_progress', limit: 200 })
      .then((page) => {
        if (cancelled) return;
        current = new Map(page.data.map((c) => [key(c), c]));
        for (const event of held) if (event.seq > seen) apply(event);
        setCalls(new Map(current));
      })
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
      off();
    };
  }, []);
  const list = calls ? [...calls.values()].sort((a, b) => (b.started_at ?? b.first_event_at).localeCompare(a.started_at ?? a.first_event_at)) : null;
  return { calls: list, error };
}
