import { useEffect, useState } from 'preact/hooks';
import { ErrorNote } from './components/ErrorNote.js';
import { startLive } from './lib/live.js';
import { navigate, useLocation } from './lib/router.js';
import { loadSession, sessionStore } from './lib/session.js';
import { useStore } from './lib/store.js';
import { Board } from './pages/board/Board.js';
import { CallDetail } from './pages/call-detail/CallDetail.js';
import { Calls } from './pages/calls/Calls.js';
import { ComingSoon } from './pages/coming-soon/ComingSoon.js';
import { Login } from './pages/login/Login.js';
import { NotFound } from './pages/not-found/NotFound.js';
import { Setup } from './pages/setup/Setup.js';

/** Pages of part 2 (DASHBOARD.md): their URLs work now and show where the page will be. */
const laterPages: Array<[RegExp, string]> = [
  [/^\/analytics$/, 'Analytics'],
  [/^\/webhooks(\/[^/]+)?$/, 'Webhooks'],
  [/^\/deliveries$/, 'Deliveries'],
  [/^\/quarantine$/, 'Quarantine'],
  [/^\/settings(\/(sources|keys|users|about))?$/, 'Settings'],
];

function SignedIn({ path }: { path: string }) {
  if (path === '/') return <Board />;
  if (path === '/calls') return <Calls />;
  const detail = /^\/calls\/([^/]+)$/.exec(path);
  if (detail) return <CallDetail callId={decodeURIComponent(detail[1]!)} />;
  const later = laterPages.find(([pattern]) => pattern.test(path));
  if (later) return <ComingSoon title={later[1]} />;
  return <NotFound />;
}

export function App() {
  const { path } = useLocation();
  const session = useStore(sessionStore);
  const [error, setError] = useState<unknown>(null);
  const open = path === '/login' || path === '/setup';

  useEffect(() => {
    if (session === undefined) loadSession().catch(setError);
  }, [session]);
  useEffect(() => {
    if (session && !open) void startLive();
    if (session === null && !open) navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }, [session, open]);

  if (path === '/setup') return <Setup />;
  if (path === '/login') return <Login />;
  if (error) return <main class="center"><ErrorNote error={error} /></main>;
  if (!session) return <main class="center" aria-busy="true"><p class="muted">Loading…</p></main>;
  return <SignedIn path={path} />;
}
