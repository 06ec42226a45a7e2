import { useEffect, useState } from 'preact/hooks';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../lib/action.js';
import { navigate } from '../../lib/router.js';
import { acceptInvitation, checkInvitation } from '../../lib/session.js';

type Offer = { email: string; role: 'viewer' | 'admin' };

/** A person invited by an admin (`/setup?invite=…`): sets their name and password, and is signed in with the invited role. */
export function Invite({ token }: { token: string }) {
  const [offer, setOffer] = useState<Offer | null | 'invalid'>(null);
  const [form, setForm] = useState({ name: '', password: '' });
  const { busy, error, run } = useAction();
  useEffect(() => {
    document.title = 'Join · Switchboard';
    if (!token) return setOffer('invalid');
    checkInvitation(token).then(setOffer, () => setOffer('invalid'));
  }, [token]);
  const field = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await run(() => acceptInvitation({ token, password: form.password, ...(form.name ? { name: form.name } : {}) }))) navigate('/', { replace: true });
  };
  if (offer === 'invalid') {
    return (
      <main class="auth-page" id="main">
        <section class="auth-card" data-invite="invalid">
          <h1>This invitation cannot be used</h1>
          <p>It was used already, revoked, has expired, or is incomplete. Ask an administrator for a new link, or sign in.</p>
          <p>
            <a href="/login">Go to sign in</a>
          </p>
        </section>
      </main>
    );
  }
  return (
    <main class="auth-page" id="main">
      <form class="auth-card" onSubmit={submit} method="post" action="/setup" aria-busy={offer === null}>
        <h1>Join Switchboard</h1>
        <p class="muted small">
          {offer ? (
            <>
              You are invited as <strong>{offer.role}</strong> with the email <strong>{offer.email}</strong>. This link works once.
            </>
          ) : (
            'Checking the link…'
          )}
        </p>
        <label>
          Name <span class="muted">(optional)</span>
          <input name="name" autoComplete="name" value={form.name} onInput={field('name')} />
        </label>
        <input type="email" name="email" autoComplete="username" value={offer?.email ?? ''} readOnly hidden />
        <label>
          Password <span class="muted">(at least 10 characters)</span>
          <input type="password" name="password" autoComplete="new-password" required minLength={10} value={form.password} onInput={field('password')} />
        </label>
        <ErrorNote error={error} />
        <button type="submit" class="primary" disabled={busy || offer === null}>
          {busy ? 'Joining…' : 'Join'}
        </button>
      </form>
    </main>
  );
}
