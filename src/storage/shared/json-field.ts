import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * `\u0000` and the escape of a surrogate, where it is an escape (after an even run of backslashes: `\\u0000`
 * is a backslash and the text u0000). JSON.stringify writes NUL and lone surrogates that way, and PostgreSQL's
 * jsonb refuses both ("unsupported Unicode escape sequence"), failing the whole query for one row.
 */
const refusedEscape = String.raw`(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})`;
/** regexp_replace's replacement: `\\` is one literal backslash. */
const replacementEscape = String.raw`\\ufffd`;

/**
 * A top-level field of a JSON object kept as text (calls.lead, calls.agent), as text; null when absent.
 * On PostgreSQL, a row whose text holds an escape jsonb refuses (stored before the record was made
 * well-formed, or by an older node: domain/well-formed.ts) has those escapes read as U+FFFD instead of
 * failing the query; rows without any `\u` (nearly all) skip the regular expression.
 */
export function jsonField(dialect: Dialect, column: 'lead' | 'agent', name: string): RawBuilder<string | null> {
  const text = sql.ref(column);
  if (dialect === 'sqlite') return sql<string | null>`json_extract(${text}, ${`$.${name}`})`;
  return sql<string | null>`((case when strpos(${text}, ${'\\u'}) = 0 then ${text}
    else regexp_replace(${text}, ${refusedEscape}, ${replacementEscape}, 'g') end)::jsonb ->> ${name})`;
}
