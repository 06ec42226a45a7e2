import { useCallback, useEffect, useState } from 'preact/hooks';
import type { EventSummary, QuarantineCounts, ReprocessCounts } from '../../../../src/sdk/client.js';
import { api, SwitchboardApiError } from '../../lib/api.js';
import { announceQuarantineChange } from '../../lib/attention.js';

const pageSize = 50;

/** What became of a record this session: the event it became, or the error it still answers. */
export type Outcome =
  | { kind: 'reprocessed'; eventId: string; callId: string; duplicate: boolean }
  | { kind: 'refused'; code: string; detail: string | null };

/**
 * The quarantine records, newest first, a page at a time, with the counts; reprocessing one or all and
 * remembering each record's outcome (the API answers it; a failed attempt is not stored).
 */
export function useQuarantine() {
  const [rows, setRows] = useState<EventSummary[] | null>(null);
  const [nextCursor, setNextCursor] = useState<number | null>(null);
  const [counts, setCounts] = useState<QuarantineCounts | null>(null);
  const [outcomes, setOutcomes] = useState<Map<string, Outcome>>(new Map());
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const loadCounts = useCallback(() => api.events.quarantine().then(setCounts, setError), []);
  useEffect(() => {
    let cancelled = false;
    api.events
      .list({ status: 'quarantined', limit: pageSize })
      .then((page) => {
        if (cancelled) return;
        setRows(page.data);
        setNextCursor(page.next_cursor);
      })
      .catch((e) => !cancelled && setError(e));
    void loadCounts();
    return () => {
      cancelled = true;
    };
  }, [loadCounts]);

  const loadMore = () => {
    if (nextCursor === null || loadingMore) return;
    setLoadingMore(true);
    api.events
      .list({ status: 'quarantined', limit: pageSize, cursor: nextCursor })
      .then((page) => {
        setRows((r) => [...(r ?? []), ...page.data.filter((e) => !r?.some((x) => x.id === e.id))]);
        setNextCursor(page.next_cursor);
        setError(null);
      })
      .catch(setError)
      .finally(() => setLoadingMore(false));
  };

  /** Records the outcomes and marks the rows that became events. */
  const settle = (results: Array<[string, Outcome]>) => {
    setOutcomes((m) => new Map([...m, ...results]));
    const became = new Map(results.filter(([, o]) => o.kind === 'reprocessed') as Array<[string, Extract<Outcome, { kind: 'reprocessed' }>]>);
    if (became.size > 0) {
      setRows((r) => r?.map((e) => {
        const o = became.get(e.id);
        return o ? { ...e, reprocessed_into: o.eventId, reprocessed_call_id: o.callId } : e;
      }) ?? null);
    }
    void loadCounts();
    announceQuarantineChange();
  };

  /** One record through today's parser; its outcome is kept (a refusal is not thrown). */
  const reprocess = async (id: string): Promise<Outcome> => {
    let outcome: Outcome;
    try {
      const r = await api.events.reprocess(id);
      outcome = { kind: 'reprocessed', eventId: r.id, callId: r.call_id, duplicate: r.duplicate === true };
    } catch (e) {
      if (!(e instanceof SwitchboardApiError) || e.status === 0 || e.status >= 500 || e.status === 401 || e.status === 403 || e.status === 429) throw e;
      outcome = { kind: 'refused', code: e.code, detail: e.detail ?? null };
    }
    settle([[id, outcome]]);
    return outcome;
  };

  /** Every record not reprocessed yet. */
  const reprocessAll = async (): Promise<ReprocessCounts> => {
    const answer = await api.events.reprocessAll();
    settle(answer.results.map((r) => [
      r.id,
      r.outcome === 'reprocessed'
        ? { kind: 'reprocessed', eventId: r.event_id!, callId: r.call_id!, duplicate: r.duplicate === true }
        : { kind: 'refused', code: r.error ?? r.outcome, detail: r.detail ?? null },
    ]));
    return answer;
  };

  return { rows, nextCursor, counts, outcomes, loadingMore, error, loadMore, reprocess, reprocessAll };
}

export type QuarantineState = ReturnType<typeof useQuarantine>;
