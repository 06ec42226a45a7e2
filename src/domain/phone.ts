/**
 * Phone numbers as the call list matches them, on the server (api/v1-calls.ts, storage/shared/call-rows.ts,
 * call-queries.ts) and in the dashboard's live rows (web/src/pages/calls/filters.ts) alike. No imports: the
 * dashboard's bundle takes this file as it is.
 */

/**
 * The digits of a phone number, for matching: `+1 (555) 010-2030` → `15550102030`; null when it has none.
 * Stored beside the call (indexed) so that `GET /v1/calls?phone=` compares digits whatever the formatting.
 */
export function phoneDigits(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const digits = String(value).replace(/\D+/g, '');
  return digits.length === 0 ? null : digits.slice(0, 64);
}

/**
 * The digits a phone-looking search `q` (only digits, spaces and `+().-`) also finds in a lead's phone
 * digits (`555 010` finds 15550102030); null for any other search. The call list's query and the
 * dashboard's live rows (web/src/pages/calls/filters.ts) match alike.
 */
export function searchedPhoneDigits(q: string): string | null {
  return /^[\d\s+().-]+$/.test(q) ? phoneDigits(q) : null;
}
