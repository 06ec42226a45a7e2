import { SafeLink } from '../../components/SafeLink.js';
import { asText, httpUrl } from '../../lib/format.js';

/** An object's fields as a two-column table; values are text, http(s) URLs links. */
export function KeyValues({ label, value, empty }: { label: string; value: Record<string, unknown> | null | undefined; empty: string }) {
  const entries = value && typeof value === 'object' ? Object.entries(value) : [];
  if (entries.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="table kv" aria-label={label}>
      <tbody>
        {entries.map(([key, v]) => (
          <tr key={key}>
            <th scope="row" class="text">
              {key}
            </th>
            <td class="text">{httpUrl(v) ? <SafeLink href={v} /> : asText(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
