import { useEffect, useState } from 'preact/hooks';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../lib/action.js';
import { navigate, useLocation } from '../../lib/router.js';
import { checkSetupToken, completeSetup } from '../../lib/session.js';
import { Invite } from './Invite.js';

type State = 'checking' | 'valid' | 'invalid';

/** `/setup?token=…`: the first administrator; `/setup?invite=…`: a person invited by an admin. */
export function Setup() {
  const { query } = useLocation();
  const invite = query.get('invite');
  return invite !== null ? <Invite token={invite} /> : <FirstAdmin token={query.get('token') ?? ''} />;
}

/** The first administrator, from the one-time link the first start printed. */
function FirstAdmin({ token }: { token: string }) {
  const [state, setState] = useState<State>('checking');
  const [form, setForm] = useState({ name: '', email: '', password: '' });
  const { busy, error, run } = useAction();
  useEffect(() => {
    document.title = 'Set up · Switchboard';
    if (!token) return setState('invalid');
    checkSetupToken(token).then(() => setState('valid'), () => setState('invalid'));
  }, [token]);
  const field = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await run(() => completeSetup({ token, email: form.email, password: form.password, ...(form.name ? { name: form.name } : {}) }))) navigate('/', { replace: true });
  };
  return (
    <main class="auth-page" id="main">
      {state === 'invalid' ? (
        <section class="auth-card" data-setup="invalid">
          <h1>This setup link cannot be used</h1>
          <p>It was used already, has expired, or is incomplete. Sign in, or ask an administrator to add you with <code>switchboard users add</code>.</p>
          <p>
            <a href="/login">Go to sign in</a>
          </p>
        </section>
      ) : (
        <form class="auth-card" onSubmit={submit} method="post" action="/setup" aria-busy={state === 'checking'}>
          <h1>Create the first administrator</h1>
          <p class="muted small">This link works once. The account you create here can add others.</p>
          <label>
            Name <span class="muted">(optional)</span>
            <input name="name" autoComplete="name" value={form.name} onInput={field('name')} />
          </label>
          <label>
            Email
            <input type="email" name="email" autoComplete="username" required value={form.email} onInput={field('email')} />
          </label>
          <label>
            Password <span class="muted">(at least 10 characters)</span>
            <input type="password" name="password" autoComplete="new-password" required minLength={10} value={form.password} onInput={field('password')} />
          </label>
          <ErrorNote error={error} />
          <button type="submit" class="primary" disabled={busy || state !== 'valid'}>
            {busy ? 'Creating…' : 'Create administrator'}
          </button>
        </form>
      )}
    </main>
  );
}
