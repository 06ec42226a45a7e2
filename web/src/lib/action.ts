import { useState } from 'preact/hooks';

/**
 * Runs a request for a button or a form, keeping its error where the action was taken (DASHBOARD.md
 * "Errors"): `run(fn)` resolves to fn's result, or undefined when it failed (then `error` holds why);
 * `busy` while it runs (the button says so and is disabled), `result` the last success's value.
 */
export function useAction<R = unknown>() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<R | null>(null);
  const run = async <T extends R,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      const value = await fn();
      setResult(value);
      return value;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, result, run, clear: () => setError(null) };
}
