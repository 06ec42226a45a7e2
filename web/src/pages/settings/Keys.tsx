import { useState } from 'preact/hooks';
import type { ApiKeyInfo } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { Status } from '../../components/Status.js';
import { TableHead } from '../../components/TableHead.js';
import { When } from '../../components/When.js';
import { api } from '../../lib/api.js';
import { Confirm, OnceSecret, RowError, useAction, useList } from './parts.js';

const listKeys = () => api.keys.list();

/** API keys: create (the key shown once), scope, last use, revoke. The dashboard itself uses a session, not a key. */
export function Keys() {
  const { rows, error, reload } = useList<ApiKeyInfo>(listKeys);
  const [form, setForm] = useState<{ name: string; scope: 'read' | 'admin' }>({ name: '', scope: 'read' });
  const [shown, setShown] = useState<{ name: string; key: string } | null>(null);
  const create = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const created = await create.run(() => api.keys.create({ name: form.name.trim(), scope: form.scope }));
    if (!created) return;
    setForm({ ...form, name: '' });
    setShown({ name: created.name, key: created.key });
    void reload();
  };
  return (
    <section class="settings-section" aria-labelledby="keys-title">
      <h2 id="keys-title" class="section-title">API keys</h2>
      <p class="muted small">
        For programs that read the API (<code>read</code>) or also change things (<code>admin</code>). “Last used” is written at most once a minute per key.
      </p>
      <form class="settings-form" onSubmit={submit}>
        <label class="field">
          New key name
          <input name="key-name" required maxLength={200} value={form.name} onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          Scope
          <select name="key-scope" value={form.scope} onChange={(e) => setForm({ ...form, scope: (e.target as HTMLSelectElement).value as 'read' | 'admin' })}>
            <option value="read">read</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" class="primary" disabled={create.busy}>
          Create key
        </button>
      </form>
      <ErrorNote error={create.error} />
      {shown && <OnceSecret label={`API key “${shown.name}”`} value={shown.key} onDone={() => setShown(null)} />}
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table class="table" data-table="keys">
          <TableHead columns={['Name', 'Scope', { label: 'Key', narrow: true }, { label: 'Created', narrow: true }, 'Last used', 'Status', 'Actions']} />
          <tbody>
            {rows === null && <SkeletonRows rows={2} cols={7} />}
            {rows?.map((k) => <KeyRow key={k.id} apiKey={k} onChange={reload} />)}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function KeyRow({ apiKey, onChange }: { apiKey: ApiKeyInfo; onChange: () => void }) {
  const action = useAction();
  const revoke = async () => {
    await action.run(() => api.keys.revoke(apiKey.id));
    onChange();
  };
  return (
    <>
      <tr data-key={apiKey.id}>
        <td class="clip">{apiKey.name}</td>
        <td>{apiKey.scope}</td>
        <td class="mono hide-narrow">{apiKey.key_hint}</td>
        <td class="nowrap hide-narrow">
          <When at={apiKey.created_at} />
        </td>
        <td class="nowrap" data-last-used>
          {apiKey.last_used_at ? <When at={apiKey.last_used_at} /> : <span class="muted">never</span>}
        </td>
        <td class="nowrap">
          <Status status={apiKey.status} /> {apiKey.revoked_at && <When at={apiKey.revoked_at} />}
        </td>
        <td class="actions">{apiKey.status === 'active' && <Confirm label="Revoke" question="Revoke? It stops at once." busy={action.busy} onConfirm={revoke} />}</td>
      </tr>
      <RowError error={action.error} cols={7} />
    </>
  );
}
