import { useEffect, useMemo, useState } from 'preact/hooks';
import { buildUrl } from '../../../../src/sdk/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Shell } from '../../components/Shell.js';
import { useLocation } from '../../lib/router.js';
import { useNow } from '../../lib/useNow.js';
import { useZone } from '../../lib/zone.js';
import { CallTable } from './CallTable.js';
import { FilterBar } from './FilterBar.js';
import { apiFilters, describeFilters, readFilters } from './filters.js';
import { useCallList } from './useCallList.js';

/** Calls: every filter of `/v1/calls` in the URL, newest first, load more, CSV of the filter, live. */
export function Calls() {
  const { query } = useLocation();
  const zone = useZone();
  const now = useNow(5000);
  const filters = useMemo(() => readFilters(query), [query.toString()]);
  const forApi = useMemo(() => apiFilters(filters, zone), [filters, zone]);
  const [unseen, setUnseen] = useState(0);
  const list = useCallList(forApi, query.toString(), (n) => {
    if (window.scrollY > 80) setUnseen((u) => u + n);
  });
  useEffect(() => {
    const onScroll = () => window.scrollY <= 80 && setUnseen(0);
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  }, []);
  const csv = buildUrl('', '/v1/calls.csv', forApi);
  const described = describeFilters(filters);
  return (
    <Shell
      title="Calls"
      actions={
        <a class="button" href={csv} download="calls.csv" data-csv>
          Download CSV
        </a>
      }
    >
      <FilterBar filters={filters} />
      {unseen > 0 && (
        <button type="button" class="pill" onClick={() => { window.scrollTo({ top: 0 }); setUnseen(0); }}>
          ↑ {unseen} new {unseen === 1 ? 'call' : 'calls'}
        </button>
      )}
      <ErrorNote error={list.error} hint={(list.error as { code?: string } | null)?.code === 'invalid_request' ? 'Correct the filter above.' : undefined} />
      <CallTable rows={list.rows} fresh={list.fresh} now={now} failed={Boolean(list.error)} />
      {list.rows?.length === 0 && (
        <div class="panel empty" data-empty data-for={list.loadedFor}>
          <p>{described ? `No call matches ${described}.` : 'No calls yet. They appear here as Convolo sends them.'}</p>
          {described && <a href="/calls">Clear the filters</a>}
        </div>
      )}
      {list.rows && list.rows.length > 0 && (
        <div class="more" data-for={list.loadedFor}>
          <span class="muted small" data-shown={list.rows.length}>
            {list.rows.length} shown{list.nextCursor ? '' : ' · the end of the list'}
          </span>
          {list.nextCursor && (
            <button type="button" onClick={list.loadMore} disabled={list.loadingMore} data-load-more>
              {list.loadingMore ? 'Loading…' : 'Load more'}
            </button>
          )}
        </div>
      )}
    </Shell>
  );
}
