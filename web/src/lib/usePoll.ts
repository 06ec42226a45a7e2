import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `load` every `ms` while the tab is visible, and at once when it becomes visible again: what the
 * Webhooks pages show of deliveries is re-read, since the worker records their states in the database
 * without a stream event for each (docs/dashboard.md "Live").
 */
export function usePoll(load: () => void, ms: number): void {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    const tick = () => document.visibilityState === 'visible' && latest.current();
    const timer = setInterval(tick, ms);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
    };
  }, [ms]);
}
