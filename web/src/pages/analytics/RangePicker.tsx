import { setQuery } from '../../lib/router.js';
import { presets, type Range } from './range.js';

/** Today … last 90 days, or two dates: each a URL parameter (`range`, `from`, `to`), so Back and reload keep it. */
export function RangePicker({ range }: { range: Range }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setQuery({ range: 'custom', from: String(form.get('from') ?? ''), to: String(form.get('to') ?? '') });
  };
  return (
    <form class="filters range-picker" onSubmit={submit} aria-label="Range" key={`${range.preset}${range.first}${range.last}`}>
      <fieldset class="chips">
        <legend class="visually-hidden">Range</legend>
        {presets.map(([value, label]) => (
          <button
            type="button"
            key={value}
            class="chip"
            aria-pressed={range.preset === value}
            data-range={value}
            onClick={() => setQuery(value === 'custom' ? { range: value, from: range.first, to: range.last } : { range: value, from: null, to: null })}
          >
            {label}
          </button>
        ))}
      </fieldset>
      {range.preset === 'custom' && (
        <div class="fields">
          <label class="field">
            <span>From</span>
            <input type="date" name="from" defaultValue={range.first} required />
          </label>
          <label class="field">
            <span>To (inclusive)</span>
            <input type="date" name="to" defaultValue={range.last} required />
          </label>
          <div class="filter-actions">
            <button type="submit" class="primary">
              Apply
            </button>
          </div>
        </div>
      )}
      {range.problem && (
        <p class="error" role="alert">
          {range.problem}
        </p>
      )}
      <p class="muted small range-said" data-range-from={range.from} data-range-to={range.to}>
        {range.first === range.last ? range.first : `${range.first} – ${range.last}`}, per {range.bucket}
      </p>
    </form>
  );
}
