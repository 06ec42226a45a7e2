import { phoneDigits, searchedPhoneDigits } from '../../../../src/domain/phone.js';
import type { Call, CallFilters } from '../../../../src/sdk/client.js';
import { addDays, isDate, midnightIn } from '../../lib/zone.js';

/** The filters of `/v1/calls` as the calls page keeps them in its URL (all strings, as typed). */
export const filterNames = ['status', 'widget_key', 'agent_id', 'source_id', 'disconnected_by', 'phone', 'from', 'to', 'started_from', 'started_to', 'q'] as const;
export type FilterName = (typeof filterNames)[number];
export type UrlFilters = Partial<Record<FilterName, string>>;

export const filterLabels: Record<FilterName, string> = {
  status: 'status',
  widget_key: 'widget',
  agent_id: 'agent',
  source_id: 'source',
  disconnected_by: 'disconnected by',
  phone: 'phone',
  from: 'from',
  to: 'to',
  started_from: 'started from',
  started_to: 'started before',
  q: 'search',
};

export function readFilters(query: URLSearchParams): UrlFilters {
  const filters: UrlFilters = {};
  for (const name of filterNames) {
    const value = query.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** The instant `date` begins in `zone`, for the API; anything that is no day (2026-13-01, a date-time) as typed: the API says what is wrong with it. */
function dayStart(date: string, zone: string): string {
  return isDate(date) ? new Date(midnightIn(date, zone)).toISOString() : date;
}

/**
 * The API's filters for the URL's: a date (`from=2026-12-01`) means that day in the chosen zone (`to`
 * inclusive: up to the next midnight); a full date-time, or a date the calendar lacks, is passed as it is.
 */
export function apiFilters(filters: UrlFilters, zone: string): Omit<CallFilters, 'cursor' | 'limit'> {
  const out: Record<string, string> = { ...filters };
  if (filters.from) out.from = dayStart(filters.from, zone);
  if (filters.to) out.to = isDate(filters.to) && isDate(addDays(filters.to, 1)) ? dayStart(addDays(filters.to, 1), zone) : filters.to;
  return out;
}

/**
 * Whether a call the stream brought belongs in the list, by the same rules as the server's query
 * (api/v1-calls.ts): exact status, widget, agent, source; phone by digits (domain/phone.ts phoneDigits, a
 * phone Convolo sent as a number too); `q` as a case-insensitive
 * substring of the call id, widget name, the lead's `lead_name`, `lead_email`, `name` or `email`, or (a
 * phone-looking q) the lead's phone digits; first event in [from, to); the stats' time (start, else first
 * event) in [started_from, started_to).
 */
export function matches(call: Call, api: ReturnType<typeof apiFilters>): boolean {
  if (api.status && call.status !== api.status) return false;
  if (api.widget_key && call.widget_key !== api.widget_key) return false;
  if (api.agent_id && String(call.agent?.id ?? '') !== api.agent_id) return false;
  if (api.source_id && call.source_id !== api.source_id) return false;
  if (api.disconnected_by && call.disconnected_by !== api.disconnected_by) return false;
  const lead = (call.lead ?? {}) as Record<string, unknown>;
  const leadDigits = phoneDigits(lead.lead_phone);
  if (api.phone) {
    const wanted = phoneDigits(api.phone);
    if (wanted === null || (leadDigits !== wanted && phoneDigits(call.called_lead_phone) !== wanted)) return false;
  }
  const at = Date.parse(call.first_event_at);
  if (api.from && at < Date.parse(api.from)) return false;
  if (api.to && at >= Date.parse(api.to)) return false;
  const started = Date.parse(call.started_at ?? call.first_event_at);
  if (api.started_from && started < Date.parse(api.started_from)) return false;
  if (api.started_to && started >= Date.parse(api.started_to)) return false;
  if (api.q) {
    const needle = api.q.toLowerCase();
    const texts = [call.call_id, call.widget_name, lead.lead_name, lead.lead_email, lead.name, lead.email].map((t) => (typeof t === 'string' ? t.toLowerCase() : ''));
    const qDigits = searchedPhoneDigits(api.q);
    if (!texts.some((t) => t.includes(needle)) && !(qDigits !== null && leadDigits?.includes(qDigits))) return false;
  }
  return true;
}

/** "status = answered, widget = wk_1": what emptied the list. */
export function describeFilters(filters: UrlFilters): string {
  return filterNames
    .filter((n) => filters[n])
    .map((n) => `${filterLabels[n]} = “${filters[n]}”`)
    .join(', ');
}
