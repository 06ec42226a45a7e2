import { useState } from 'preact/hooks';
import { ErrorNote } from '../../components/ErrorNote.js';
import { api } from '../../lib/api.js';

function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** An event's raw body, fetched when opened: pretty-printed in a `<pre>` (as text), copy, download the exact bytes. */
export function RawPayload({ eventId }: { eventId: string }) {
  const [body, setBody] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  const load = (event: Event) => {
    if ((event.currentTarget as HTMLDetailsElement).open && body === null) {
      api.events.get(eventId).then((e) => setBody(e.body ?? (e.body_base64 !== null ? '(binary body: download it)' : '(no body kept)')), setError);
    }
  };
  const copy = async () => {
    if (body === null) return;
    await navigator.clipboard.writeText(body);
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <details class="raw" onToggle={load}>
      <summary>Raw payload</summary>
      <ErrorNote error={error} />
      <div class="raw-actions">
        <button type="button" onClick={copy} disabled={body === null}>
          {copied ? 'Copied' : 'Copy'}
        </button>
        <a class="button" href={`/v1/events/${encodeURIComponent(eventId)}/raw`} download={`${eventId}.json`} data-download={eventId}>
          Download exact bytes
        </a>
      </div>
      {body === null ? <p class="muted">Loading…</p> : <pre data-raw={eventId} tabIndex={0} aria-label={`Raw payload of ${eventId}`}>{pretty(body)}</pre>}
    </details>
  );
}
