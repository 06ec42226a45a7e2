import { useState } from 'preact/hooks';

/**
 * A button's action: `busy` while it runs (the button says so and is disabled), `error` when it failed (for
 * an ErrorNote where the action was taken), `result` when it succeeded.
 */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<R | null>(null);
  const run = async (...args: A): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setResult(await action(...args));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, result };
}
