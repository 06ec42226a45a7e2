import { createClient, SwitchboardApiError } from '../../../src/sdk/client.js';
import { sessionStore } from './session.js';

/**
 * The public API through the SDK, with the session cookie of this origin (no key). An answer 401 means the
 * session ended (expired, signed out elsewhere, the password changed): the app goes back to the login page.
 */
export const api = createClient({
  baseUrl: location.origin,
  fetch: async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401 && sessionStore.get()) sessionStore.set(null);
    return response;
  },
});

export { SwitchboardApiError };

/** An error to show: the server's message and code (DASHBOARD.md "Errors"). */
export function describeError(error: unknown): { message: string; code: string } {
  if (error instanceof SwitchboardApiError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error), code: 'client_error' };
}
