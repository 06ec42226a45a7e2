import { describeError } from '../lib/api.js';

/** An API error where the action was taken: its message, its code, and what to do. */
export function ErrorNote({ error, hint }: { error: unknown; hint?: string }) {
  if (!error) return null;
  const { message, code } = describeError(error);
  return (
    <p class="error" role="alert">
      {message} <code>{code}</code>
      {hint ? ` ${hint}` : code === 'unauthorized' ? ' Sign in again.' : code === 'connection_failed' ? ' Check that Switchboard is running, then retry.' : ''}
    </p>
  );
}
