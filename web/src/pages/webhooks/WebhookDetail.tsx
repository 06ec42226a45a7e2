import { useCallback, useEffect, useState } from 'preact/hooks';
import type { DestinationMaybeSecret, DestinationTestResult } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Shell } from '../../components/Shell.js';
import { When } from '../../components/When.js';
import { useAction } from '../../lib/action.js';
import { api } from '../../lib/api.js';
import { asText, formatNumber } from '../../lib/format.js';
import { navigate } from '../../lib/router.js';
import { sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';
import { usePoll } from '../../lib/usePoll.js';
import { DeliveryTable, useDeliveryLog } from '../deliveries/DeliveryLog.js';
import { DestinationForm, SecretOnce, Sparkline, StateLabel } from './parts.js';
import { useHealth } from './Webhooks.js';

function Settings({ d }: { d: DestinationMaybeSecret }) {
  const rows: Array<[string, string]> = [
    ['URL', d.url],
    ['Description', d.description ?? '–'],
    ['Event types', d.event_types?.join(', ') ?? 'every call event'],
    ['Widget keys', d.widget_keys?.join(', ') ?? 'all'],
    ['Call statuses', d.call_statuses?.join(', ') ?? 'all'],
    ['Headers', Object.keys(d.headers ?? {}).join(', ') || '–'],
    ['Rate limit', d.rate_limit_per_sec === null ? 'none' : `${formatNumber(d.rate_limit_per_sec)} requests/s`],
    ['Concurrency', d.max_concurrency === null ? 'the server default' : `${formatNumber(d.max_concurrency)} in flight`],
    ['Secret', d.secret_hint],
  ];
  return (
    <table class="table kv">
      <tbody>
        {rows.map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td class="text">{asText(v)}</td></tr>)}
      </tbody>
    </table>
  );
}

function TestResult({ result }: { result: DestinationTestResult }) {
  return (
    <div class="result" data-test-result>
      <p class="small">
        <span class={`status status-${result.ok ? 'ok' : 'bad'}`}>{result.ok ? 'answered' : 'failed'}</span>{' '}
        {result.status === null ? 'no answer' : `HTTP ${result.status}`} · {formatNumber(Math.round(result.latency_ms))} ms
        {result.error && <span class="bad-text text"> · {result.error}</span>}
      </p>
      {result.response_body ? <pre>{asText(result.response_body)}</pre> : <p class="muted small">Empty answer.</p>}
    </div>
  );
}

/** Replay: a time range and "only failed" → how many it would queue → queue them. */
function Replay({ id, onQueued }: { id: string; onQueued: () => void }) {
  const action = useAction();
  const [preview, setPreview] = useState<{ key: string; count: number } | null>(null);
  const [queued, setQueued] = useState<number | null>(null);
  const [form, setForm] = useState({ since: '', until: '', only_failed: false });
  const params = () => ({
    since: form.since ? new Date(form.since).toISOString() : undefined,
    until: form.until ? new Date(form.until).toISOString() : undefined,
    only_failed: form.only_failed,
  });
  const key = JSON.stringify(form);
  const change = (patch: Partial<typeof form>) => {
    setForm({ ...form, ...patch });
    setPreview(null);
    setQueued(null);
  };
  return (
    <section class="panel" aria-labelledby="replay-heading">
      <h2 id="replay-heading" class="section-title">Replay</h2>
      <p class="small muted">Sends past events again to this destination (those still pending are left out). Times are in this browser's zone.</p>
      <div class="replay-form">
        <label class="field"><span>Since</span><input type="datetime-local" value={form.since} onInput={(e) => change({ since: (e.target as HTMLInputElement).value })} name="since" /></label>
        <label class="field"><span>Until</span><input type="datetime-local" value={form.until} onInput={(e) => change({ until: (e.target as HTMLInputElement).value })} name="until" /></label>
        <label class="check"><input type="checkbox" checked={form.only_failed} onChange={(e) => change({ only_failed: (e.target as HTMLInputElement).checked })} name="only_failed" /> Only failed</label>
        <button type="button" disabled={action.busy} data-action="replay-preview" onClick={() => action.run(async () => {
          setPreview({ key, count: (await api.destinations.replay(id, { ...params(), dry_run: true })).queued });
        })}>Preview</button>
        {preview && preview.key === key && (
          <button type="button" class="primary" disabled={action.busy || preview.count === 0} data-action="replay" onClick={() => action.run(async () => {
            setQueued((await api.destinations.replay(id, params())).queued);
            setPreview(null);
            onQueued();
          })}>Queue {formatNumber(preview.count)}</button>
        )}
      </div>
      {preview && preview.key === key && <p role="status" data-replay-preview={preview.count}>{preview.count === 0 ? 'Nothing to replay in this range.' : `Would queue ${formatNumber(preview.count)} ${preview.count === 1 ? 'delivery' : 'deliveries'}.`}</p>}
      {queued !== null && <p role="status" data-replay-queued={queued}>Queued {formatNumber(queued)} {queued === 1 ? 'delivery' : 'deliveries'}.</p>}
      <ErrorNote error={action.error} />
    </section>
  );
}

/** "Retry all failed (N)": the count is the server's dry run; a confirmation, then each goes out once more. */
function RetryFailed({ id, version, onRetried }: { id: string; version: number; onRetried: () => void }) {
  const action = useAction();
  const [count, setCount] = useState<number | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<number | null>(null);
  const count_ = useCallback(() => {
    api.destinations.retryFailed(id, { dry_run: true }).then((r) => setCount(r.retried), () => setCount(null));
  }, [id]);
  useEffect(count_, [count_, version]);
  usePoll(count_, 5000);
  if (count === null) return null;
  return (
    <div class="actions-row">
      {!confirming && <button type="button" disabled={count === 0} onClick={() => { setConfirming(true); setDone(null); }} data-action="retry-failed" data-count={count}>Retry all failed ({formatNumber(count)})</button>}
      {confirming && (
        <span class="confirm" role="group" aria-label="Confirm retry">
          Send the {formatNumber(count)} failed {count === 1 ? 'delivery' : 'deliveries'} again, each with a fresh schedule?
          <button type="button" class="primary" disabled={action.busy} data-action="retry-failed-confirm" onClick={() => action.run(async () => {
            setDone((await api.destinations.retryFailed(id)).retried);
            setConfirming(false);
            count_();
            onRetried();
          })}>Retry {formatNumber(count)}</button>
          <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
        </span>
      )}
      {done !== null && <span role="status" data-retried={done}>{formatNumber(done)} sent again.</span>}
      <ErrorNote error={action.error} />
    </div>
  );
}

/** One destination: its configuration and state, an admin's controls, its health and its delivery log. */
export function WebhookDetail({ destinationId }: { destinationId: string }) {
  const session = useStore(sessionStore);
  const isAdmin = session?.user.role === 'admin';
  const [d, setD] = useState<DestinationMaybeSecret | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [revealed, setRevealed] = useState<string | null>(null);
  const test = useAction<DestinationTestResult>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [version, setVersion] = useState(0);
  const action = useAction();
  const health = useHealth();
  const log = useDeliveryLog({ destination_id: destinationId });
  const load = useCallback(() => {
    api.destinations.get(destinationId).then((got) => {
      // The secret is never kept from a plain read: only "Reveal" shows it.
      setD({ ...got, secret: undefined });
      setLoadError(null);
    }, setLoadError);
  }, [destinationId]);
  useEffect(load, [load]);
  usePoll(load, 5000);
  const changed = () => {
    load();
    log.refresh();
    health.reload();
    setVersion((v) => v + 1);
  };

  if (!d) {
    return (
      <Shell title="Destination">
        <p class="crumbs"><a href="/webhooks">← Webhooks</a></p>
        <ErrorNote error={loadError} />
        {!loadError && <p class="muted">Loading…</p>}
      </Shell>
    );
  }
  const h = health.health?.get(d.id);
  return (
    <Shell title={d.description || 'Destination'}>
      <p class="crumbs"><a href="/webhooks">← Webhooks</a></p>
      <section class="panel" aria-labelledby="dest-heading">
        <div class="head-row">
          <h2 id="dest-heading" class="section-title text">{d.url}</h2>
          <StateLabel destination={d} />
        </div>
        <p class="small muted">
          {d.status === 'paused' && d.paused_at && <>Paused <When at={d.paused_at} />: deliveries are queued, none is sent until resumed. </>}
          {d.failing_since && <>Failing since <When at={d.failing_since} />. </>}
          Last 24 h: {formatNumber(h?.delivered)} delivered · {formatNumber(h?.failed)} failed · {formatNumber(h?.pending)} pending
        </p>
        <Sparkline health={h} />
        {isAdmin && (
          <div class="actions-row" data-admin-controls>
            {d.status !== 'disabled' && (
              <button type="button" disabled={action.busy} data-action={d.status === 'paused' ? 'resume' : 'pause'} onClick={() => action.run(async () => {
                await api.destinations.update(d.id, { paused: d.status !== 'paused' });
                changed();
              })}>{d.status === 'paused' ? 'Resume' : 'Pause'}</button>
            )}
            {d.status === 'disabled' && (
              <button type="button" disabled={action.busy} data-action="enable" onClick={() => action.run(async () => {
                await api.destinations.update(d.id, { disabled: false });
                changed();
              })}>Enable</button>
            )}
            <button type="button" disabled={test.busy} data-action="test" onClick={() => test.run(() => api.destinations.test(d.id))}>{test.busy ? 'Sending…' : 'Send test'}</button>
            <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing} data-action="edit">Edit</button>
            <button type="button" disabled={action.busy} data-action="reveal" onClick={() => revealed ? setRevealed(null) : action.run(async () => setRevealed((await api.destinations.get(d.id)).secret ?? null))}>{revealed ? 'Hide secret' : 'Reveal secret'}</button>
            <button type="button" disabled={action.busy} data-action="rotate" onClick={() => action.run(async () => {
              setRevealed((await api.destinations.rotateSecret(d.id)).secret);
              load();
            })}>Rotate secret</button>
            {!confirmDelete && <button type="button" onClick={() => setConfirmDelete(true)} data-action="delete">Delete…</button>}
            {confirmDelete && (
              <span class="confirm" role="group" aria-label="Confirm delete">
                Delete this destination? Its pending deliveries are cancelled; its log stays readable.
                <button type="button" class="primary" data-action="delete-confirm" onClick={() => action.run(async () => {
                  await api.destinations.delete(d.id);
                  navigate('/webhooks');
                })}>Delete</button>
                <button type="button" onClick={() => setConfirmDelete(false)}>Cancel</button>
              </span>
            )}
          </div>
        )}
        <ErrorNote error={action.error ?? test.error} />
        {revealed && <SecretOnce secret={revealed} note={d.previous_secret_expires_at ? 'The new signing secret. The previous one keeps signing too until the grace period ends.' : 'The signing secret: keep it out of logs and chats.'} />}
        {test.result && <TestResult result={test.result} />}
      </section>
      {editing && isAdmin ? (
        <section class="panel" aria-labelledby="edit-heading">
          <h2 id="edit-heading" class="section-title">Edit</h2>
          <DestinationForm initial={d} submitLabel="Save" onCancel={() => setEditing(false)} onSubmit={async (settings) => {
            await api.destinations.update(d.id, settings);
            setEditing(false);
            changed();
          }} />
        </section>
      ) : (
        <section class="panel" aria-labelledby="config-heading">
          <h2 id="config-heading" class="section-title">Configuration</h2>
          <Settings d={d} />
        </section>
      )}
      {isAdmin && <Replay id={d.id} onQueued={changed} />}
      <section class="panel" aria-labelledby="log-heading">
        <div class="head-row">
          <h2 id="log-heading" class="section-title">Deliveries</h2>
          <a href={`/deliveries?destination_id=${d.id}`} class="small">Open in the delivery log</a>
        </div>
        {isAdmin && <RetryFailed id={d.id} version={version} onRetried={changed} />}
        <DeliveryTable log={log} destinations={new Map([[d.id, d]])} isAdmin={isAdmin} showDestination={false} empty="No deliveries to this destination yet." />
      </section>
    </Shell>
  );
}
