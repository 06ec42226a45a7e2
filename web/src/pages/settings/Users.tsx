import { useState } from 'preact/hooks';
import type { Invitation, User } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { TableHead } from '../../components/TableHead.js';
import { When } from '../../components/When.js';
import { api } from '../../lib/api.js';
import { loadSession, sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';
import { Confirm, OnceSecret, RowError, useAction, useList } from './parts.js';

type Role = 'viewer' | 'admin';
const listUsers = () => api.users.list();
const listInvitations = () => api.invitations.list();

/** Users (admin): the people who sign in; invite by a one-time link, change a role, remove. */
export function Users() {
  const users = useList<User>(listUsers);
  const invitations = useList<Invitation>(listInvitations);
  const [form, setForm] = useState<{ email: string; role: Role }>({ email: '', role: 'viewer' });
  const [link, setLink] = useState<{ email: string; url: string; expires: string } | null>(null);
  const invite = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const created = await invite.run(() => api.invitations.create({ email: form.email.trim(), role: form.role }));
    if (!created) return;
    setForm({ ...form, email: '' });
    setLink({ email: created.email, url: created.url, expires: created.expires_at });
    void invitations.reload();
  };
  // Removing a user, or making an admin a viewer, also ends invitations (theirs, and those to their email).
  const userChanged = () => {
    void users.reload();
    void invitations.reload();
  };
  return (
    <section class="settings-section" aria-labelledby="users-title">
      <h2 id="users-title" class="section-title">Users</h2>
      <p class="muted small">A viewer reads everything; an admin also changes things. Invite someone with a one-time link (valid 7 days).</p>
      <form class="settings-form" onSubmit={submit}>
        <label class="field">
          Email
          <input type="email" name="invite-email" required maxLength={254} value={form.email} onInput={(e) => setForm({ ...form, email: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          Role
          <select name="invite-role" value={form.role} onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value as Role })}>
            <option value="viewer">viewer</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" class="primary" disabled={invite.busy}>
          Create invitation link
        </button>
      </form>
      <ErrorNote error={invite.error} />
      {link && <OnceSecret label={`Invitation link for ${link.email}`} value={link.url} note="It works once." onDone={() => setLink(null)} />}
      <ErrorNote error={users.error} />
      <div class="table-wrap">
        <table class="table" data-table="users">
          <TableHead columns={['Name', 'Email', 'Role', { label: 'Created', narrow: true }, 'Actions']} />
          <tbody>
            {users.rows === null && <SkeletonRows rows={2} cols={5} />}
            {users.rows?.map((u) => <UserRow key={u.id} user={u} onChange={userChanged} />)}
          </tbody>
        </table>
      </div>
      <h3 class="sub-title">Pending invitations</h3>
      <ErrorNote error={invitations.error} />
      {invitations.rows?.length === 0 ? (
        <p class="muted small">None.</p>
      ) : (
        <div class="table-wrap">
          <table class="table" data-table="invitations">
            <TableHead columns={['Email', 'Role', { label: 'Created', narrow: true }, 'Expires', 'Actions']} />
            <tbody>
              {invitations.rows === null && <SkeletonRows rows={1} cols={5} />}
              {invitations.rows?.map((i) => <InvitationRow key={i.id} invitation={i} onChange={invitations.reload} />)}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function UserRow({ user, onChange }: { user: User; onChange: () => void }) {
  const action = useAction();
  const me = useStore(sessionStore)?.user.id === user.id;
  const setRole = async (role: Role) => {
    if ((await action.run(() => api.users.setRole(user.id, { role }))) && me) await loadSession();
    onChange();
  };
  const remove = async () => {
    await action.run(() => api.users.remove(user.id));
    onChange();
  };
  return (
    <>
      <tr data-user={user.email}>
        <td class="clip">{user.name ?? <span class="muted">–</span>}</td>
        <td class="clip">
          {user.email} {me && <span class="muted small">(you)</span>}
        </td>
        <td>
          <select aria-label={`Role of ${user.email}`} value={user.role} disabled={action.busy} onChange={(e) => void setRole((e.target as HTMLSelectElement).value as Role)}>
            <option value="viewer">viewer</option>
            <option value="admin">admin</option>
          </select>
        </td>
        <td class="nowrap hide-narrow">
          <When at={user.created_at} />
        </td>
        <td class="actions">
          <Confirm label="Remove" question={`Remove ${user.email}?`} busy={action.busy} onConfirm={remove} />
        </td>
      </tr>
      <RowError error={action.error} cols={5} />
    </>
  );
}

function InvitationRow({ invitation, onChange }: { invitation: Invitation; onChange: () => void }) {
  const action = useAction();
  const revoke = async () => {
    await action.run(() => api.invitations.revoke(invitation.id));
    onChange();
  };
  return (
    <>
      <tr data-invitation={invitation.email}>
        <td class="clip">{invitation.email}</td>
        <td>{invitation.role}</td>
        <td class="nowrap hide-narrow">
          <When at={invitation.created_at} />
        </td>
        <td class="nowrap">
          <When at={invitation.expires_at} />
        </td>
        <td class="actions">
          <Confirm label="Revoke" question="Revoke this link?" busy={action.busy} onConfirm={revoke} />
        </td>
      </tr>
      <RowError error={action.error} cols={5} />
    </>
  );
}
