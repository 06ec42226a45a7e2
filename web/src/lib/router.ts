import { createStore, useStore } from './store.js';

/** The location the app shows: the URL is the state (DASHBOARD.md "URL is the state"). */
export interface Location {
  path: string;
  query: URLSearchParams;
}

const read = (): Location => ({ path: location.pathname, query: new URLSearchParams(location.search) });
export const locationStore = createStore<Location>(read());

/** Goes to `url` (same origin) as a new history entry, or replacing the current one. */
export function navigate(url: string, options: { replace?: boolean } = {}): void {
  const target = new URL(url, location.href);
  if (target.href === location.href && !options.replace) return;
  if (options.replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  locationStore.set(read());
  if (!options.replace) window.scrollTo(0, 0);
}

/** Sets query parameters of the current page (empty values removed), keeping the path. */
export function setQuery(changes: Record<string, string | null | undefined>, options: { replace?: boolean } = {}): void {
  const query = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === '') query.delete(name);
    else query.set(name, value);
  }
  const search = query.toString();
  navigate(`${location.pathname}${search ? `?${search}` : ''}`, options);
}

export function useLocation(): Location {
  return useStore(locationStore);
}

/** Links inside the app change the page without reloading it; modified clicks (new tab) and downloads are left to the browser. */
export function startRouter(): void {
  window.addEventListener('popstate', () => locationStore.set(read()));
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.hasAttribute('download') || anchor.target === '_blank') return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/v1/') || url.pathname.startsWith('/docs') || url.pathname === '/metrics') return;
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
}
