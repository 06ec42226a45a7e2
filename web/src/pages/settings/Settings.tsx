import { Shell } from '../../components/Shell.js';
import { sessionStore } from '../../lib/session.js';
import { useStore } from '../../lib/store.js';
import { About } from './About.js';
import { Keys } from './Keys.js';
import { Sources } from './Sources.js';
import { Users } from './Users.js';
import './settings.css';

const tabs = [
  { id: 'sources', label: 'Sources', admin: true, page: Sources },
  { id: 'keys', label: 'API keys', admin: true, page: Keys },
  { id: 'users', label: 'Users', admin: true, page: Users },
  { id: 'about', label: 'About', admin: false, page: About },
] as const;

/**
 * Settings: a tab bar of real links (`/settings/<tab>`; the URL is the state). A viewer sees only About
 * (with their password): the admin tabs are not shown, and their URLs show About.
 */
export function Settings({ tab }: { tab: string }) {
  const admin = useStore(sessionStore)?.user.role === 'admin';
  const visible = tabs.filter((t) => admin || !t.admin);
  const current = visible.find((t) => t.id === tab) ?? visible.find((t) => t.id === 'about')!;
  const Page = current.page;
  return (
    <Shell title="Settings">
      <nav class="tabs" aria-label="Settings">
        {visible.map((t) => (
          <a key={t.id} href={`/settings/${t.id}`} aria-current={t.id === current.id ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      <Page />
    </Shell>
  );
}
