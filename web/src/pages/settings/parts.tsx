import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ErrorNote } from '../../components/ErrorNote.js';
export { useAction } from '../../lib/action.js';

/**
 * A list the page reads from the API and reads again after each change: `rows` is null while the first
 * read runs (skeleton rows), `error` what the last read answered when it failed.
 */
export function useList<T>(read: () => Promise<{ data: T[] }>) {
  const [rows, setRows] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = useCallback(async () => {
    try {
      setRows((await read()).data);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [read]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { rows, error, reload };
}

/**
 * A secret shown once (a key, an ingest URL, an invitation link): in a read-only field, with a copy button
 * (the Clipboard API; else the field's text is selected for Ctrl+C) and a warning that it will not be
 * shown again.
 */
export function OnceSecret({ label, value, note, onDone }: { label: string; value: string; note?: ComponentChildren; onDone: () => void }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'copied' | 'selected' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('copied');
    } catch {
      field.current?.focus();
      field.current?.select();
      setCopied('selected');
    }
  };
  return (
    <div class="once panel" role="status" data-once={label}>
      <label class="field">
        {label}
        <span class="once-row">
          <input ref={field} readOnly value={value} onFocus={(e) => (e.target as HTMLInputElement).select()} spellcheck={false} />
          <button type="button" class="primary" onClick={copy}>
            Copy
          </button>
        </span>
      </label>
      <p class="once-note">
        {copied === 'copied' && <strong>Copied. </strong>}
        {copied === 'selected' && <strong>Selected: press Ctrl+C (⌘C) to copy. </strong>}
        It will not be shown again: copy it now. {note}
      </p>
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

/** A destructive action asked twice, in place: the button, then "Confirm" and "Cancel". */
export function Confirm({ label, question, busy, onConfirm }: { label: string; question: string; busy: boolean; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class="danger" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={question}>
      <span class="small">{question}</span>
      <button type="button" class="danger" disabled={busy} onClick={() => { setAsking(false); onConfirm(); }} autoFocus>
        Confirm
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** An error in a table, in its own row under the row whose action failed. */
export function RowError({ error, cols }: { error: unknown; cols: number }) {
  if (!error) return null;
  return (
    <tr class="row-error">
      <td colSpan={cols}>
        <ErrorNote error={error} />
      </td>
    </tr>
  );
}
