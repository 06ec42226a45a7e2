import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { onQuarantineChange } from '../lib/attention.js';
import { onLiveEvent } from '../lib/live.js';
import { useLocation } from '../lib/router.js';

interface Counts {
  failing: number;
  quarantined: number;
}

/** Things that need attention: failing or disabled destinations (admins see them), quarantined requests. */
function useAttentionCounts(): Counts {
  const [counts, setCounts] = useState<Counts>({ failing: 0, quarantined: 0 });
  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      const [destinations, quarantined] = await Promise.all([
        api.destinations.list().catch(() => ({ data: [] })),
        // Counted by the server: every record not reprocessed, however many (a page of 100 stopped at 100).
        api.events.quarantine().catch(() => ({ waiting: 0 })),
      ]);
      if (cancelled) return;
      setCounts({
        failing: destinations.data.filter((d) => d.status === 'disabled' || d.failing_since !== null).length,
        quarantined: quarantined.waiting,
      });
    };
    void load();
    const off = onLiveEvent(({ type }) => {
      if (type.startsWith('switchboard.')) void load();
    });
    const offQuarantine = onQuarantineChange(() => void load());
    return () => {
      cancelled = true;
      off();
      offQuarantine();
    };
  }, []);
  return counts;
}

const items = [
  { href: '/', label: 'Live' },
  { href: '/calls', label: 'Calls' },
  { href: '/analytics', label: 'Analytics' },
  { href: '/webhooks', label: 'Webhooks', count: 'failing' },
  { href: '/quarantine', label: 'Quarantine', count: 'quarantined' },
  { href: '/settings/about', label: 'Settings' },
] as const;

export function Nav({ onNavigate }: { onNavigate?: () => void }) {
  const { path } = useLocation();
  const counts = useAttentionCounts();
  // The delivery log belongs to Webhooks (it has no entry of its own); every settings tab to Settings.
  const current = (href: string) =>
    href === '/'
      ? path === '/'
      : path === href || path.startsWith(`${href.replace(/\/about$/, '')}/`) || (href === '/settings/about' && path.startsWith('/settings')) || (href === '/webhooks' && path === '/deliveries');
  return (
    <nav aria-label="Main">
      <ul>
        {items.map((item) => {
          const count = 'count' in item ? counts[item.count] : 0;
          return (
            <li key={item.href}>
              <a href={item.href} aria-current={current(item.href) ? 'page' : undefined} onClick={onNavigate}>
                <span>{item.label}</span>
                {count > 0 && (
                  <span class="badge" aria-label={`${count} need attention`}>
                    {count > 99 ? '99+' : count}
                  </span>
                )}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
