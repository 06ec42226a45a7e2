/** Display formats (DASHBOARD.md "Layout"): numbers in the browser's locale, times in the chosen zone. */

const numberFormat = new Intl.NumberFormat();
export const formatNumber = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : numberFormat.format(n));

const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });
/** A rate as a whole percentage, never 100 % while some are missing nor 0 % while some are there (199 of 200: >99 %). */
export function formatPercent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '–';
  if (rate >= 0.995 && rate < 1) return `>${percentFormat.format(0.99)}`;
  if (rate > 0 && rate < 0.005) return `<${percentFormat.format(0.01)}`;
  return percentFormat.format(rate);
}

/** Seconds as `2:13` (or `1:02:13`). */
export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '–';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Speed to lead and the like: `14 s`, `3 min 5 s`, `2 h 4 min`, `330 d 20 h`. */
export function formatSeconds(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '–';
  const s = Math.round(sec);
  if (Math.abs(s) < 60) return `${formatNumber(s)} s`;
  if (Math.abs(s) < 3600) return `${Math.trunc(s / 60)} min${s % 60 ? ` ${Math.abs(s % 60)} s` : ''}`;
  if (Math.abs(s) < 172_800) return `${Math.trunc(s / 3600)} h${Math.trunc((s % 3600) / 60) ? ` ${Math.abs(Math.trunc((s % 3600) / 60))} min` : ''}`;
  return `${formatNumber(Math.trunc(s / 86_400))} d${Math.trunc((s % 86_400) / 3600) ? ` ${Math.abs(Math.trunc((s % 86_400) / 3600))} h` : ''}`;
}

const formats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(zone: string, kind: 'full' | 'time' | 'short'): Intl.DateTimeFormat {
  const key = `${zone}|${kind}`;
  let format = formats.get(key);
  if (!format) {
    const options: Intl.DateTimeFormatOptions =
      kind === 'time'
        ? { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit' }
        : kind === 'short'
          ? { timeZone: zone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
          : { timeZone: zone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' };
    format = new Intl.DateTimeFormat(undefined, options);
    formats.set(key, format);
  }
  return format;
}

export const formatDateTime = (iso: string | null | undefined, zone: string): string => (iso ? dateFormat(zone, 'full').format(Date.parse(iso)) : '–');
export const formatClock = (iso: string, zone: string): string => dateFormat(zone, 'time').format(Date.parse(iso));

/** Recent times relative ("41 s ago"), older ones as a short absolute date and time. */
export function formatWhen(iso: string | null | undefined, zone: string, now = Date.now()): string {
  if (!iso) return '–';
  const ms = Date.parse(iso);
  const ago = Math.round((now - ms) / 1000);
  if (ago >= 0 && ago < 60) return `${ago} s ago`;
  if (ago >= 60 && ago < 3600) return `${Math.floor(ago / 60)} min ago`;
  return dateFormat(zone, 'short').format(ms);
}

/**
 * An international phone number grouped for reading (`+46 70 123 45 67`, `+1 555 123 4567`); anything else,
 * a national number included, is shown as it came.
 */
export function formatPhone(phone: string | null | undefined): string {
  if (!phone) return '–';
  const m = /^\+(\d{8,15})$/.exec(phone.replace(/[\s().-]/g, ''));
  if (!m) return phone;
  const digits = m[1]!;
  const ccLength = /^[17]/.test(digits) ? 1 : /^(2[1-9]|3[578]|42|5[09]|6[7-9]|8[5-9]|9[6-9])/.test(digits) ? 3 : 2;
  const cc = digits.slice(0, ccLength);
  const rest = digits.slice(ccLength);
  if (cc === '1' && rest.length === 10) return `+1 ${rest.slice(0, 3)} ${rest.slice(3, 6)} ${rest.slice(6)}`;
  const groups = [rest.slice(0, 2), rest.slice(2, 5)];
  let tail = rest.slice(5);
  while (tail.length > 3 || tail.length === 2) {
    groups.push(tail.slice(0, 2));
    tail = tail.slice(2);
  }
  if (tail) groups.push(tail);
  return `+${cc} ${groups.filter(Boolean).join(' ')}`;
}

/** Only http(s) URLs become links (DASHBOARD.md "Text is text"). */
export function httpUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Any JSON value as display text. */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
