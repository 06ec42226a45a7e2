import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../lib/api.js';
import { navigate } from '../lib/router.js';
import { logout, sessionStore } from '../lib/session.js';
import { useStore } from '../lib/store.js';
import { stopLive } from '../lib/live.js';
import { LiveIndicator } from './LiveIndicator.js';
import { Nav } from './Nav.js';
import { ZonePicker } from './ZonePicker.js';

/** The frame of every signed-in page: navigation left, the page's title, live state and zone top right. */
export function Shell({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const session = useStore(sessionStore);
  const [menuOpen, setMenuOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    document.title = `${title} · Switchboard`;
  }, [title]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setMenuOpen(false);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const signOut = async () => {
    try {
      await logout();
      stopLive();
      navigate('/login');
    } catch (e) {
      setError(describeError(e).message);
    }
  };
  return (
    <div class={`shell${menuOpen ? ' menu-open' : ''}`}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <aside class="sidebar">
        <div class="brand">
          <a href="/">Switchboard</a>
          <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen(!menuOpen)}>
            Menu
          </button>
        </div>
        <div id="main-nav" class="nav-wrap">
          <Nav onNavigate={() => setMenuOpen(false)} />
          {session && (
            <div class="me">
              <span class="me-name" title={session.user.email}>
                {session.user.name || session.user.email}
              </span>
              <span class="me-role">{session.user.role}</span>
              <button type="button" class="link-button" onClick={signOut}>
                Sign out
              </button>
              {error && <p class="error" role="alert">{error}</p>}
            </div>
          )}
        </div>
      </aside>
      <div class="content">
        <header class="topbar">
          <h1 title={title}>{title}</h1>
          <div class="top-actions">
            {actions}
            <LiveIndicator />
            <ZonePicker />
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
