import { createClient, SwitchboardApiError, type Stats, type StatsParams } from '../../../src/sdk/client.js';
import { loadSession, sessionStore } from './session.js';

/**
 * The public API through the SDK, with the session cookie of this origin (no key). An answer 401 means the
 * session ended (expired, signed out elsewhere, the password changed): the app goes back to the login page.
 * A 403 may mean the person's role changed while the page was open (an admin made a viewer): the session is
 * read again, so the pages stop offering what the role no longer allows.
 */
export const api = createClient({
  baseUrl: location.origin,
  fetch: async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401 && sessionStore.get()) sessionStore.set(null);
    if (response.status === 403 && sessionStore.get()) void loadSession().catch(() => undefined);
    return response;
  },
});

export { SwitchboardApiError };

/**
 * `GET /v1/stats`, asked again after a short wait when it answers 429: the server runs at most
 * SWITCHBOARD_EXPENSIVE_PER_KEY (default 2) stats per client at once, and another tab, or the requests of a
 * page just left (they hold their slot until their answer is made), may hold them. Up to five more times
 * (300 ms, 600 ms, …), while `live()`.
 */
export async function askStats(params: StatsParams, live: () => boolean = () => true): Promise<Stats> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.stats(params);
    } catch (error) {
      if (!(error instanceof SwitchboardApiError) || error.code !== 'rate_limited' || attempt >= 5 || !live()) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
    }
  }
}

/** An error to show: the server's message and code (DASHBOARD.md "Errors"). */
export function describeError(error: unknown): { message: string; code: string } {
  if (error instanceof SwitchboardApiError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error), code: 'client_error' };
}
