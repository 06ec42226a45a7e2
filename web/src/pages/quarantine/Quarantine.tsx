import { useEffect, useRef } from 'preact/hooks';
import type { ReprocessCounts } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Shell } from '../../components/Shell.js';
import { useLocation } from '../../lib/router.js';
import { sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';
import { useAction } from '../../lib/action.js';
import { useNow } from '../../lib/useNow.js';
import { Detail } from './Detail.js';
import { QuarantineTable } from './QuarantineTable.js';
import { useQuarantine } from './useQuarantine.js';
import './quarantine.css';

/** "Reprocess all (N)" for an admin, and what it did. */
function ReprocessAll({ waiting, run }: { waiting: number; run: () => Promise<ReprocessCounts> }) {
  const { run: go, busy, error, result: done } = useAction<ReprocessCounts>();
  return (
    <div class="q-all">
      <button type="button" class="primary" onClick={() => void go(run)} disabled={busy || waiting === 0} data-reprocess-all>
        {busy ? 'Reprocessing…' : `Reprocess all (${waiting})`}
      </button>
      <p role="status" class="small" data-all-result>
        {done &&
          `${done.reprocessed} became events · ${done.still_invalid} still refused · ${done.not_reprocessable} not reprocessable (body not kept whole). Each row shows its outcome.`}
      </p>
      <ErrorNote error={error} />
    </div>
  );
}

/** Quarantine: the refused requests, newest first, each with its bytes; reprocess one or all (admin). */
export function Quarantine() {
  const { query } = useLocation();
  const session = useStore(sessionStore);
  const isAdmin = session?.user.role === 'admin';
  const now = useNow(5000);
  const q = useQuarantine();
  const openId = query.get('id');
  // Closing the drawer gives the focus back to the record's link, so the keyboard keeps its place.
  const lastOpen = useRef<string | null>(null);
  useEffect(() => {
    if (!openId && lastOpen.current) document.querySelector<HTMLElement>(`[data-record="${CSS.escape(lastOpen.current)}"] a`)?.focus();
    lastOpen.current = openId;
  }, [openId]);
  return (
    <Shell title="Quarantine">
      <section class="panel q-intro" aria-label="Summary">
        <p class="small">
          Requests Switchboard refused (not JSON, not an event, too large), kept byte for byte. After a fix, reprocessing turns the ones that parse now into
          events.
          {q.counts && (
            <>
              {' '}
              <strong data-waiting={q.counts.waiting}>{q.counts.waiting} waiting</strong> · {q.counts.reprocessed} reprocessed.
            </>
          )}
        </p>
        {isAdmin && q.counts && <ReprocessAll waiting={q.counts.waiting} run={q.reprocessAll} />}
      </section>
      <ErrorNote error={q.error} />
      <div class="q-list">
        <QuarantineTable q={q} isAdmin={isAdmin} now={now} openId={openId} />
        {q.rows?.length === 0 && (
          <div class="panel empty" data-empty>
            <p>Nothing in quarantine: every request so far was a valid event.</p>
          </div>
        )}
        {q.rows && q.rows.length > 0 && (
          <div class="more">
            <span class="muted small" data-shown={q.rows.length}>
              {q.rows.length} shown{q.nextCursor === null ? ' · the end of the list' : ''}
            </span>
            {q.nextCursor !== null && (
              <button type="button" onClick={q.loadMore} disabled={q.loadingMore} data-load-more>
                {q.loadingMore ? 'Loading…' : 'Load more'}
              </button>
            )}
          </div>
        )}
      </div>
      {openId && <Detail id={openId} q={q} isAdmin={isAdmin} />}
    </Shell>
  );
}
