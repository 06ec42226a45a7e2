/**
 * What the mock shows of a phone number on its status page and in its log lines: enough to tell calls apart,
 * never the whole number (logs and screens get shared).
 *
 * @example
 * maskPhone('+46 70 123 45 67'); // '+46•••••••67'
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length <= 4) return '•'.repeat(digits.length);
  const plus = phone.trimStart().startsWith('+') ? '+' : '';
  return `${plus}${digits.slice(0, 2)}${'•'.repeat(digits.length - 4)}${digits.slice(-2)}`;
}

/**
 * A webhook URL as the mock shows it: Switchboard's ingest URL ends in the source's secret token (the only
 * secret Convolo's webhooks have), so its last path segment is cut to its first 8 characters.
 *
 * @example
 * maskUrl('http://127.0.0.1:8787/hooks/convolo/sbt_AbCdEfGhIjKl'); // 'http://127.0.0.1:8787/hooks/convolo/sbt_AbCd…'
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const parts = parsed.pathname.split('/');
    const last = parts.at(-1) ?? '';
    if (last.length > 8) parts[parts.length - 1] = `${last.slice(0, 8)}…`;
    return `${parsed.origin}${parts.join('/')}${parsed.search ? '?…' : ''}`;
  } catch {
    return '…';
  }
}
