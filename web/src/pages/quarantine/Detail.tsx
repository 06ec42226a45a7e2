import { useEffect, useRef, useState } from 'preact/hooks';
import type { EventDetail } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { api } from '../../lib/api.js';
import { formatDateTime } from '../../lib/format.js';
import { setQuery } from '../../lib/router.js';
import { useZone } from '../../lib/zone.js';
import { formatBytes, fromBase64, hexDump } from './bytes.js';
import { reprocessable } from './QuarantineTable.js';
import { ReprocessButton } from './ReprocessButton.js';
import { State } from './State.js';
import type { QuarantineState } from './useQuarantine.js';

/** The hex dump shows this much; the download has the rest. */
export const hexLimit = 4096;

const close = () => setQuery({ id: null });

/**
 * One record in a drawer (its id in the URL: `/quarantine?id=evt_…`; Esc or Close shuts it): why it was
 * refused, the declared content type, the body as text when it decodes and as a hex dump, the exact bytes
 * to download or copy, and Reprocess for an admin. The body is the sender's: only ever text.
 */
export function Detail({ id, q, isAdmin }: { id: string; q: QuarantineState; isAdmin: boolean }) {
  const zone = useZone();
  const [event, setEvent] = useState<EventDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState<unknown>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const row = q.rows?.find((r) => r.id === id);

  useEffect(() => {
    let cancelled = false;
    setEvent(null);
    setError(null);
    setCopied(null);
    api.events.get(id).then((e) => !cancelled && setEvent(e), (e) => !cancelled && setError(e));
    heading.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      cancelled = true;
      document.removeEventListener('keydown', onKey);
    };
  }, [id]);

  // The list's row and this session's outcome are the fresher (a reprocess updates them); the fetched record
  // has the body. A record opened by its URL may not be among the rows loaded.
  const outcome = q.outcomes.get(id);
  const became = outcome?.kind === 'reprocessed' ? { reprocessed_into: outcome.eventId, reprocessed_call_id: outcome.callId } : {};
  const record = event ? { ...event, ...(row ?? {}), ...became } : null;
  const bytes = event?.body_base64 ? fromBase64(event.body_base64) : null;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(event?.body ?? '');
      setCopied(true);
    } catch (e) {
      setCopied(e);
    }
  };

  return (
    <section class="q-drawer panel" aria-labelledby="q-detail-heading" data-detail={id}>
      <div class="q-drawer-head">
        <h2 id="q-detail-heading" class="section-title" tabIndex={-1} ref={heading}>
          Request <code>{id}</code>
        </h2>
        <button type="button" onClick={close} data-close>
          Close <span class="muted small">(Esc)</span>
        </button>
      </div>
      <ErrorNote error={error} hint={(error as { code?: string } | null)?.code === 'not_found' ? 'It may have been pruned; pick another record.' : undefined} />
      {!record && !error && <p class="muted" aria-busy="true">Loading…</p>}
      {record && (
        <>
          <dl class="facts q-facts">
            <div>
              <dt>Received</dt>
              <dd>{formatDateTime(record.received_at, zone)}</dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd class="text">{record.source_name ?? record.source_id}</dd>
            </div>
            <div>
              <dt>Declared content type</dt>
              <dd>{record.content_type === null ? <span class="muted">none</span> : <code class="text" data-content-type>{record.content_type}</code>}</dd>
            </div>
            <div>
              <dt>Size</dt>
              <dd>
                {formatBytes(record.body_size)}
                {record.body_truncated && <span class="muted small"> ({bytes ? `the first ${formatBytes(bytes.length)} kept` : 'not kept'})</span>}
              </dd>
            </div>
            <div class="q-wide">
              <dt>Error</dt>
              <dd data-error>
                <code>{record.error ?? '–'}</code> {record.error_detail && <span class="text">{record.error_detail}</span>}
              </dd>
            </div>
            <div class="q-wide">
              <dt>State</dt>
              <dd>
                <State record={record} outcome={outcome} />
              </dd>
            </div>
          </dl>
          <div class="raw-actions">
            {isAdmin && reprocessable(record) && <ReprocessButton id={id} reprocess={q.reprocess} />}
            {bytes && (
              <a class="button" href={`/v1/events/${encodeURIComponent(id)}/raw`} download={`${id}.bin`} data-download={id}>
                Download the exact bytes
              </a>
            )}
            {event?.body !== null && event?.body !== undefined && (
              <button type="button" onClick={copy} data-copy>
                {copied === true ? 'Copied' : 'Copy text'}
              </button>
            )}
          </div>
          {copied !== null && copied !== true && <ErrorNote error={copied} hint="Select the text below and copy it instead." />}
          {!bytes && <p class="muted">No body was kept: the request was over the size limit, so only its size is known.</p>}
          {bytes && (
            <>
              <h3 class="sub-title">As text</h3>
              {event?.body !== null && event?.body !== undefined ? (
                <pre class="q-pre" data-text tabIndex={0} aria-label="The body as text">{event.body}</pre>
              ) : (
                <p class="muted" data-no-text>
                  The bytes are not valid UTF-8, so they are shown only as hex.
                </p>
              )}
              <h3 class="sub-title">Hex</h3>
              {bytes.length > hexLimit && (
                <p class="muted small" data-hex-note>
                  The first {formatBytes(hexLimit)} of {formatBytes(bytes.length)}; download the bytes for the rest.
                </p>
              )}
              <pre class="q-pre q-hex" data-hex tabIndex={0} aria-label="The body as a hex dump">{hexDump(bytes, hexLimit)}</pre>
            </>
          )}
        </>
      )}
    </section>
  );
}
