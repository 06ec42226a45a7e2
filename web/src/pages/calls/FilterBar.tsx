import { useEffect, useRef } from 'preact/hooks';
import { setQuery } from '../../lib/router.js';
import { describeFilters, filterNames, type FilterName, type UrlFilters } from './filters.js';

const statuses = [
  ['', 'All'],
  ['in_progress', 'In progress'],
  ['answered', 'Answered'],
  ['lead_not_answering', 'Lead not answering'],
  ['agent_not_answering', 'Agent not answering'],
  ['stale', 'Stale'],
] as const;

const textFields: Array<{ name: FilterName; label: string; type?: 'search' | 'tel' | 'date' | 'text'; placeholder?: string }> = [
  { name: 'q', label: 'Search', type: 'search', placeholder: 'name, email, call id…  ( / )' },
  { name: 'phone', label: 'Phone', type: 'tel', placeholder: '+46 70…' },
  { name: 'widget_key', label: 'Widget key' },
  { name: 'agent_id', label: 'Agent id' },
  { name: 'source_id', label: 'Source id' },
  { name: 'from', label: 'From', type: 'date' },
  { name: 'to', label: 'To (inclusive)', type: 'date' },
];

/**
 * The filters, each a URL parameter: a chip or a field's change is a new history entry, so Back undoes
 * it. `/` focuses the search.
 */
export function FilterBar({ filters }: { filters: UrlFilters }) {
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) && !target.isContentEditable) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const status = filters.status ?? '';
  // Filters without a field of their own (a link from the analytics page sets them): said, so the list's narrowing is visible.
  const unfielded = describeFilters(Object.fromEntries(filterNames.filter((n) => n !== 'status' && !textFields.some((f) => f.name === n)).map((n) => [n, filters[n]])));
  const chips: ReadonlyArray<readonly [string, string]> = statuses.some(([v]) => v === status) ? statuses : [...statuses, [status, status]];
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const changes: Record<string, string> = {};
    for (const field of textFields) {
      const value = String(form.get(field.name) ?? '').trim();
      // A date field shows a full date-time of the URL as its day: left as it was unless edited.
      const before = filters[field.name];
      changes[field.name] = field.type === 'date' && before && value === before.slice(0, 10) ? before : value;
    }
    setQuery(changes);
  };
  return (
    <form class="filters" onSubmit={submit} role="search" aria-label="Filter calls" key={JSON.stringify(filters)}>
      <fieldset class="chips">
        <legend class="visually-hidden">Status</legend>
        {chips.map(([value, label]) => (
          <button type="button" key={value} class="chip" aria-pressed={status === value} data-status={value} onClick={() => setQuery({ status: value })}>
            {label}
          </button>
        ))}
      </fieldset>
      <div class="fields">
        {textFields.map((field) => (
          <label key={field.name} class={`field field-${field.name}`}>
            <span>{field.label}</span>
            <input
              ref={field.name === 'q' ? search : undefined}
              name={field.name}
              type={(field.type ?? 'text') as 'text'}
              defaultValue={filters[field.name] && field.type === 'date' ? filters[field.name]!.slice(0, 10) : (filters[field.name] ?? '')}
              placeholder={field.placeholder}
              onChange={field.type === 'date' ? (e) => setQuery({ [field.name]: (e.target as HTMLInputElement).value }) : undefined}
            />
          </label>
        ))}
        <div class="filter-actions">
          <button type="submit" class="primary">
            Apply
          </button>
          <a href="/calls" class="button">
            Clear
          </a>
        </div>
      </div>
      {unfielded && (
        <p class="muted small" data-unfielded>
          Also filtered by {unfielded}.
        </p>
      )}
    </form>
  );
}
