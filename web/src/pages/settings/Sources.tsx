import { useEffect, useState } from 'preact/hooks';
import type { ReconcileStatus, Source } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { Status } from '../../components/Status.js';
import { TableHead } from '../../components/TableHead.js';
import { When } from '../../components/When.js';
import { api } from '../../lib/api.js';
import { formatDateTime } from '../../lib/format.js';
import { useZone } from '../../lib/zone.js';
import { Confirm, OnceSecret, RowError, useAction, useList } from './parts.js';

const listSources = () => api.sources.list();
/** An ingest URL as listed: its path, with the token's first characters only (the database keeps only its digest). */
const maskedPath = (hint: string) => `/hooks/convolo/${hint}`;

/** What to show once: a new source's URL, or a rotated one's with until when the old one works. */
type Shown = { name: string; url: string; oldUntil: string | null };

/** Sources: the ingest URLs Convolo posts to; create (URL shown once), rotate (old URL works for the grace period), revoke. */
export function Sources() {
  const { rows, error, reload } = useList<Source>(listSources);
  const [shown, setShown] = useState<Shown | null>(null);
  const [name, setName] = useState('');
  const create = useAction();
  const zone = useZone();
  const submit = async (event: Event) => {
    event.preventDefault();
    const created = await create.run(() => api.sources.create({ name: name.trim() }));
    if (!created) return;
    setName('');
    setShown({ name: created.name, url: created.ingest_url, oldUntil: null });
    void reload();
  };
  return (
    <section class="settings-section" aria-labelledby="sources-title">
      <h2 id="sources-title" class="section-title">Sources</h2>
      <p class="muted small">Each source is one ingest URL to paste into Convolo's webhook settings. Its token is shown once, when it is created or rotated.</p>
      <form class="settings-form" onSubmit={submit}>
        <label class="field">
          New source name
          <input name="source-name" required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" disabled={create.busy}>
          Create source
        </button>
      </form>
      <ErrorNote error={create.error} />
      {shown && (
        <OnceSecret
          label={`Ingest URL of “${shown.name}”`}
          value={shown.url}
          note={shown.oldUntil ? <span data-grace>The old URL works until {formatDateTime(shown.oldUntil, zone)}.</span> : undefined}
          onDone={() => setShown(null)}
        />
      )}
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table class="table" data-table="sources">
          <TableHead columns={['Name', 'Ingest URL', 'Status', { label: 'Created', narrow: true }, { label: 'Old URL works until', narrow: true }, { label: 'Last reconcile', narrow: true }, 'Actions']} />
          <tbody>
            {rows === null && <SkeletonRows rows={2} cols={7} />}
            {rows?.map((s) => <SourceRow key={s.id} source={s} onChange={reload} onRotated={(url, oldUntil) => setShown({ name: s.name, url, oldUntil })} />)}
          </tbody>
        </table>
      </div>
      {rows?.length === 0 && <p class="muted">No source yet: create one above.</p>}
    </section>
  );
}

function SourceRow({ source, onChange, onRotated }: { source: Source; onChange: () => void; onRotated: (url: string, oldUntil: string | null) => void }) {
  const action = useAction();
  const active = source.status === 'active';
  const rotate = async () => {
    const rotated = await action.run(() => api.sources.rotate(source.id));
    if (rotated) onRotated(rotated.ingest_url, rotated.previous_token_expires_at);
    onChange();
  };
  const revoke = async () => {
    await action.run(() => api.sources.revoke(source.id));
    onChange();
  };
  return (
    <>
      <tr data-source={source.id}>
        <td class="clip">{source.name}</td>
        <td class="nowrap mono" title={`${location.origin}${maskedPath(source.token_hint)} (the token is masked: it was shown once)`}>{maskedPath(source.token_hint)}</td>
        <td>
          <Status status={source.status} />
        </td>
        <td class="nowrap hide-narrow">
          <When at={source.created_at} />
        </td>
        <td class="nowrap hide-narrow">
          <When at={source.previous_token_expires_at} />
        </td>
        <td class="nowrap hide-narrow" data-reconcile>
          <LastReconcile sourceId={source.id} />
        </td>
        <td class="actions">
          {active && (
            <>
              <Confirm label="Rotate" question="New URL? The old one works 24 h." busy={action.busy} onConfirm={rotate} />
              <Confirm label="Revoke" question="Revoke? Its URLs stop at once." busy={action.busy} onConfirm={revoke} />
            </>
          )}
        </td>
      </tr>
      <RowError error={action.error} cols={7} />
    </>
  );
}

/**
 * The source's last reconcile with Convolo's call list: when, and how many calls it added (the webhooks
 * Convolo never delivered), or its error, or "running"; "—" when the source has no Convolo key (CLI: sources set-convolo).
 */
function LastReconcile({ sourceId }: { sourceId: string }) {
  const [status, setStatus] = useState<ReconcileStatus | null | 'failed'>(null);
  useEffect(() => {
    let live = true;
    api.sources.reconcile(sourceId).then((s) => live && setStatus(s), () => live && setStatus('failed'));
    return () => {
      live = false;
    };
  }, [sourceId]);
  if (status === null) return <span class="muted">…</span>;
  if (status === 'failed') return <span class="muted">unavailable</span>;
  const run = status.last_run;
  if (!status.convolo || !run) return <span class="muted" title={status.convolo ? 'No run yet' : 'No Convolo API key: switchboard sources set-convolo'}>–</span>;
  return (
    <span title={`${run.date_from} – ${run.date_to}: fetched ${run.fetched}, already present ${run.already_present}, added ${run.added}`}>
      {run.finished_at === null ? <span>running</span> : run.error ? <span title={`${run.error.code}${run.error.status ? ` (HTTP ${run.error.status})` : ''}`}><Status status="failed" /></span> : <span class="num">added {run.added}</span>}
      <span class="muted"> · </span>
      <When at={run.finished_at ?? run.started_at} />
    </span>
  );
}
