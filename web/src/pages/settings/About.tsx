import { useEffect, useState } from 'preact/hooks';
import type { About as AboutInfo } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { When } from '../../components/When.js';
import { api } from '../../lib/api.js';
import { changePassword } from '../../lib/session.js';
import { useAction } from './parts.js';

const uptime = (sec: number) => (sec < 3600 ? `${Math.floor(sec / 60)} min` : sec < 86_400 ? `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min` : `${Math.floor(sec / 86_400)} d ${Math.floor((sec % 86_400) / 3600)} h`);

/** About: what this Switchboard runs and how (GET /v1/about), links to the API docs and metrics, and your password. */
export function About() {
  const [about, setAbout] = useState<AboutInfo | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.about().then(setAbout, setError);
  }, []);
  const facts: Array<[string, preact.ComponentChildren]> = about
    ? [
        ['Version', about.version],
        ['Storage', about.storage === 'sqlite' ? 'SQLite' : 'PostgreSQL'],
        ['Node role', about.node_role],
        ['Your role', about.you.role ?? about.you.scope],
        ['Retention', about.retention_days === null ? 'kept forever' : `${about.retention_days} days`],
        ['Old source URL after a rotation', `works ${about.source_token_grace_hours} h`],
        ['Commit batch', `up to ${about.ingest.commit_max_batch} requests, ${about.ingest.commit_max_in_flight} in flight, 503 beyond ${about.ingest.commit_max_queue} waiting`],
        ['Commit wait', about.ingest.commit_wait],
        ['Durability', about.ingest.durability],
        ['Running since', <><When at={about.started_at} /> ({uptime(about.uptime_sec)})</>],
      ]
    : [];
  return (
    <>
      <section class="settings-section" aria-labelledby="about-title">
        <h2 id="about-title" class="section-title">About this Switchboard</h2>
        <ErrorNote error={error} />
        <dl class="facts about-facts" aria-busy={about === null && !error}>
          {facts.map(([term, value]) => (
            <div key={term}>
              <dt>{term}</dt>
              <dd data-fact={term}>{value}</dd>
            </div>
          ))}
        </dl>
        <p>
          <a href="/docs" target="_blank" rel="noopener noreferrer">API documentation</a> ·{' '}
          {about?.metrics_token ? (
            <span data-metrics-protected>
              Metrics at <code>/metrics</code>, for a scraper with the metrics token (<code>Authorization: Bearer …</code>)
            </span>
          ) : (
            <a href="/metrics" target="_blank" rel="noopener noreferrer">Metrics</a>
          )}
        </p>
      </section>
      <PasswordForm />
    </>
  );
}

function PasswordForm() {
  const [form, setForm] = useState({ current: '', next: '' });
  const [done, setDone] = useState(false);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(false);
    const ok = await action.run(async () => {
      await changePassword({ current_password: form.current, new_password: form.next });
      return true;
    });
    if (ok) {
      setForm({ current: '', next: '' });
      setDone(true);
    }
  };
  const field = (name: 'current' | 'next') => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  return (
    <section class="settings-section" aria-labelledby="password-title">
      <h2 id="password-title" class="section-title">Change your password</h2>
      <form class="settings-form" onSubmit={submit}>
        <label class="field">
          Current password
          <input type="password" name="current-password" autoComplete="current-password" required value={form.current} onInput={field('current')} />
        </label>
        <label class="field">
          New password (at least 10 characters)
          <input type="password" name="new-password" autoComplete="new-password" required minLength={10} value={form.next} onInput={field('next')} />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Change password
        </button>
      </form>
      <ErrorNote error={action.error} />
      {done && (
        <p role="status" class="ok-text" data-password-changed>
          Password changed. Your other sessions were signed out.
        </p>
      )}
    </section>
  );
}
