import { useEffect, useRef, useState } from 'preact/hooks';
import type { Call } from '../../../../src/sdk/client.js';
import { api } from '../../lib/api.js';
import { onLiveEvent, type LiveEvent } from '../../lib/live.js';
import { matches, type apiFilters } from './filters.js';

type Filters = ReturnType<typeof apiFilters>;
const pageSize = 50;
const keyOf = (call: Pick<Call, 'source_id' | 'call_id'>) => `${call.source_id}/${call.call_id}`;

export interface CallList {
  rows: Call[] | null;
  /** The `label` of the filters that `rows` were read for (the page may be a render behind the URL). */
  loadedFor: string | null;
  /** Keys of the rows the stream added at the top since the list was read. */
  fresh: Set<string>;
  nextCursor: string | null;
  loadingMore: boolean;
  error: unknown;
  loadMore(): void;
}

/**
 * `/v1/calls` for the filters, newest first, a page at a time; then kept live: a call the stream
 * updates is updated where it is, and a new call that matches the filters is put at the top.
 */
export function useCallList(filters: Filters, label: string, onNew: (count: number) => void): CallList {
  const [rows, setRows] = useState<Call[] | null>(null);
  const [loadedFor, setLoadedFor] = useState<string | null>(null);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const onNewRef = useRef(onNew);
  onNewRef.current = onNew;
  const filterKey = JSON.stringify(filters);
  // A list per filter: a page still on its way when the filters change is not added to the next list.
  const state = useRef<{ rows: Call[]; keys: Set<string> } | null>(null);

  useEffect(() => {
    let cancelled = false;
    state.current = null;
    setRows(null);
    setLoadedFor(null);
    setNextCursor(null);
    setLoadingMore(false);
    setFresh(new Set());
    setError(null);
    const held: LiveEvent[] = [];
    const apply = (event: LiveEvent): number => {
      const call = (event.envelope as { call?: Call | null }).call;
      const current = state.current;
      if (!call || !current) return 0;
      const key = keyOf(call);
      if (current.keys.has(key)) {
        current.rows = current.rows.map((row) => (keyOf(row) === key ? call : row));
        return 0;
      }
      const newest = current.rows[0];
      if (!matches(call, filters) || (newest && call.first_event_at < newest.first_event_at)) return 0;
      current.rows = [call, ...current.rows];
      current.keys.add(key);
      setFresh((f) => new Set(f).add(key));
      return 1;
    };
    const off = onLiveEvent((event) => {
      if (!state.current) return void held.push(event);
      const added = apply(event);
      setRows(state.current.rows);
      if (added) onNewRef.current(added);
    });
    api.calls
      .list({ ...filters, limit: pageSize })
      .then((page) => {
        if (cancelled) return;
        state.current = { rows: page.data, keys: new Set(page.data.map(keyOf)) };
        for (const event of held) apply(event);
        setRows(state.current.rows);
        setLoadedFor(label);
        setNextCursor(page.next_cursor);
      })
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
      off();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey]);

  const loadMore = () => {
    const current = state.current;
    if (!nextCursor || loadingMore || !current) return;
    setLoadingMore(true);
    const stillCurrent = () => state.current === current;
    api.calls
      .list({ ...filters, cursor: nextCursor, limit: pageSize })
      .then((page) => {
        if (!stillCurrent()) return;
        const added = page.data.filter((c) => !current.keys.has(keyOf(c)));
        for (const c of added) current.keys.add(keyOf(c));
        current.rows = [...current.rows, ...added];
        setRows(current.rows);
        setNextCursor(page.next_cursor);
        setError(null);
      })
      .catch((e) => stillCurrent() && setError(e))
      .finally(() => stillCurrent() && setLoadingMore(false));
  };

  return { rows, loadedFor, fresh, nextCursor, loadingMore, error, loadMore };
}
