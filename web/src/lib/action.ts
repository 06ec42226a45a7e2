import { useState } from 'preact/hooks';

/**
 * Runs a request for a button or a form, keeping its error where the action was taken (DASHBOARD.md
 * "Errors"): `run(fn)` resolves to fn's result, or undefined when it failed (then `error` holds why).
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async <R,>(fn: () => Promise<R>): Promise<R | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}
