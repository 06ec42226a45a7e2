import type { CallState } from '../domain/call.js';
import { iso, presentUserId } from '../domain/presenters.js';
import { csvLine, type CsvValue } from './csv-cells.js';

export { csvCell, csvLine, utf8Bom, type CsvValue } from './csv-cells.js';

/**
 * The export's columns, in order: the call record flattened, each cell as the API shows it (ISO times,
 * numeric user ids as numbers). The lead's `custom_params` (free-form, different
 * keys per widget) are one JSON column, `lead_custom_params`, rather than one column per key: a stream cannot
 * know every key before its first row, and the header stays the same for every export.
 */
export const callCsvColumns: ReadonlyArray<readonly [string, (c: CallState) => CsvValue]> = [
  ['call_id', (c) => c.call_id],
  ['source_id', (c) => c.source_id],
  ['status', (c) => c.status],
  ['first_event_at', (c) => iso(c.first_event_at)],
  ['last_event_at', (c) => iso(c.last_event_at)],
  ['event_count', (c) => c.event_count],
  ['user_id', (c) => presentUserId(c.user_id)],
  ['widget_key', (c) => c.widget_key],
  ['widget_name', (c) => c.widget_name],
  ['timezone', (c) => c.timezone],
  ['is_delayed_call', (c) => c.is_delayed_call],
  ['called_lead_phone', (c) => c.called_lead_phone],
  ['lead_phone', (c) => text(c.lead?.lead_phone)],
  ['lead_id', (c) => text(c.lead?.lead_id)],
  ['lead_source', (c) => text(c.lead?.source)],
  ['lead_site_path', (c) => text(c.lead?.site_path)],
  ['lead_referer', (c) => text(c.lead?.referer)],
  ['lead_ip', (c) => text(c.lead?.ip)],
  ['lead_country', (c) => text(c.lead?.country)],
  ['lead_custom_params', (c) => (c.lead?.custom_params === undefined || c.lead.custom_params === null ? null : JSON.stringify(c.lead.custom_params))],
  ['agent_id', (c) => text(c.agent?.id)],
  ['agent_name', (c) => text(c.agent?.name)],
  ['agent_email', (c) => text(c.agent?.email)],
  ['agent_phone', (c) => text(c.agent?.phone)],
  ['started_at', (c) => iso(c.started_at)],
  ['agent_answered_at', (c) => iso(c.agent_answered_at)],
  ['lead_answered_at', (c) => iso(c.lead_answered_at)],
  ['ended_at', (c) => iso(c.ended_at)],
  ['answer_duration_sec', (c) => c.answer_duration_sec],
  ['lead_answer_duration_sec', (c) => c.lead_answer_duration_sec],
  ['talk_duration_sec', (c) => c.talk_duration_sec],
  ['total_duration_sec', (c) => c.total_duration_sec],
  ['disconnected_by', (c) => c.disconnected_by],
  ['recording_link', (c) => c.recording_link],
  ['lead_created_at', (c) => iso(c.lead_created_at)],
  ['speed_to_lead_sec', (c) => c.speed_to_lead_sec],
  ['time_to_connect_sec', (c) => c.time_to_connect_sec],
];

export const callCsvHeader = csvLine(callCsvColumns.map(([name]) => name));

/** One call as a CSV line, straight from the record (the cells as the API presents them). */
export function callCsvLine(call: CallState): string {
  return csvLine(callCsvColumns.map(([, get]) => get(call)));
}

/** A free-form payload value as a cell: strings and numbers as they are, anything else as JSON. */
function text(value: unknown): CsvValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}
