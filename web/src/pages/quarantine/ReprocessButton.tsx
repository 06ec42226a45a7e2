import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../lib/action.js';
import type { Outcome } from './useQuarantine.js';

/** Reprocess one record (admin): its outcome shows in the record's state; a failure to ask shows here. */
export function ReprocessButton({ id, reprocess, compact = false }: { id: string; reprocess: (id: string) => Promise<Outcome>; compact?: boolean }) {
  const action = useAction();
  return (
    <>
      <button type="button" onClick={() => void action.run(() => reprocess(id))} disabled={action.busy} data-reprocess={id} aria-label={compact ? `Reprocess ${id}` : undefined}>
        {action.busy ? 'Reprocessing…' : 'Reprocess'}
      </button>
      <ErrorNote error={action.error} />
    </>
  );
}
