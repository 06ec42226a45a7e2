import { useState } from 'preact/hooks';
import { ErrorNote } from '../../components/ErrorNote.js';
import type { Outcome } from './useQuarantine.js';

/** Reprocess one record (admin): its outcome shows in the record's state; a failure to ask shows here. */
export function ReprocessButton({ id, reprocess, compact = false }: { id: string; reprocess: (id: string) => Promise<Outcome>; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await reprocess(id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" onClick={run} disabled={busy} data-reprocess={id} aria-label={compact ? `Reprocess ${id}` : undefined}>
        {busy ? 'Reprocessing…' : 'Reprocess'}
      </button>
      <ErrorNote error={error} />
    </>
  );
}
