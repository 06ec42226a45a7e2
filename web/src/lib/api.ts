import { createClient, SwitchboardApiError } from '../../../src/sdk/client.js';

/** The public API through the SDK, with the session cookie of this origin (no key). */
export const api = createClient({ baseUrl: location.origin });

export { SwitchboardApiError };

/** An error to show: the server's message and code (DASHBOARD.md "Errors"). */
export function describeError(error: unknown): { message: string; code: string } {
  if (error instanceof SwitchboardApiError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error), code: 'client_error' };
}
