import { useEffect, useState } from 'preact/hooks';
import { ErrorNote } from '../../components/ErrorNote.js';
import { navigate, useLocation } from '../../lib/router.js';
import { login, sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';

/**
 * Where to go after signing in: a page of this app only (never another site, nor a sign-in form). Judged
 * as the browser reads it (the URL parser drops tabs and newlines: `/<tab>/host` is `//host`, another origin).
 */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/')) return '/';
  try {
    const url = new URL(next, location.origin);
    // The sign-in and setup pages themselves are no place to go on to: the person would stay on a sign-in form.
    return url.origin === location.origin && url.pathname !== '/login' && url.pathname !== '/setup' ? url.pathname + url.search + url.hash : '/';
  } catch {
    return '/';
  }
}

export function Login() {
  const { query } = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const session = useStore(sessionStore);
  useEffect(() => {
    document.title = 'Sign in · Switchboard';
  }, []);
  // Already signed in (an old tab, a bookmark): straight on.
  useEffect(() => {
    if (session) navigate(safeNext(query.get('next')), { replace: true });
  }, [session]);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <main class="auth-page" id="main">
      <form class="auth-card" onSubmit={submit} method="post" action="/login">
        <h1>Sign in to Switchboard</h1>
        <label>
          Email
          <input type="email" name="email" autoComplete="username" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        <ErrorNote
          error={error}
          hint={(error as { code?: string } | null)?.code === 'rate_limited' ? 'Too many attempts: wait a minute, then try again.' : (error as { code?: string } | null)?.code === 'invalid_credentials' ? 'Check the email and password.' : undefined}
        />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">No account yet? An administrator adds you with <code>switchboard users add</code>.</p>
      </form>
    </main>
  );
}
