import { useEffect, useState } from 'preact/hooks';
import { ErrorNote } from './components/ErrorNote.js';
import { startLive } from './lib/live.js';
import { navigate, useLocation } from './lib/router.js';
import { loadSession, sessionStore } from './lib/session.js';
import { useStore } from './lib/store.js';
import { Board } from './pages/board/Board.js';
import { CallDetail } from './pages/call-detail/CallDetail.js';
import { Calls } from './pages/calls/Calls.js';
import { Analytics } from './pages/analytics/Analytics.js';
import { Deliveries } from './pages/deliveries/Deliveries.js';
import { Quarantine } from './pages/quarantine/Quarantine.js';
import { Settings } from './pages/settings/Settings.js';
import { WebhookDetail } from './pages/webhooks/WebhookDetail.js';
import { Webhooks } from './pages/webhooks/Webhooks.js';
import { Login } from './pages/login/Login.js';
import { NotFound } from './pages/not-found/NotFound.js';
import { Setup } from './pages/setup/Setup.js';

/** The signed-in pages by URL (DASHBOARD.md "Routes"). */
function SignedIn({ path }: { path: string }) {
  if (path === '/') return <Board />;
  if (path === '/calls') return <Calls />;
  const detail = /^\/calls\/([^/]+)$/.exec(path);
  if (detail) return <CallDetail callId={decodeURIComponent(detail[1]!)} />;
  if (path === '/analytics') return <Analytics />;
  if (path === '/webhooks') return <Webhooks />;
  const destination = /^\/webhooks\/([^/]+)$/.exec(path);
  if (destination) return <WebhookDetail destinationId={decodeURIComponent(destination[1]!)} />;
  if (path === '/deliveries') return <Deliveries />;
  if (path === '/quarantine') return <Quarantine />;
  const settings = /^\/settings(?:\/(sources|keys|users|about))?$/.exec(path);
  if (settings) return <Settings tab={settings[1] ?? 'sources'} />;
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
