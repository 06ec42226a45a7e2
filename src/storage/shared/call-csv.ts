import { csvCell, csvLine, type CsvValue } from '../../domain/csv-cells.js';
import { iso, presentUserId } from '../../domain/presenters.js';
import type { CsvPage } from '../ports.js';

/**
 * The CSV export's lines, written straight from the rows as stored (`callCsvSelect`, read as arrays): no call
 * record is made, no closure runs per cell, and on SQLite this runs on the reader thread that read the rows,
 * which hands the main thread one buffer per page (sqlite/sql-worker.ts). The cells are the API's: ISO times,
 * numeric user ids as numbers, booleans as `true`/`false`, the lead's and agent's fields from their JSON.
 * The lead's `custom_params` (free-form, different keys per widget) are one JSON column,
 * `lead_custom_params`, rather than one column per key: a stream cannot know every key before its first row,
 * and the header stays the same for every export.
 */
export const callCsvHeader = csvLine([
  'call_id', 'source_id', 'status', 'first_event_at', 'last_event_at', 'event_count', 'user_id', 'widget_key',
  'widget_name', 'timezone', 'is_delayed_call', 'called_lead_phone', 'lead_phone', 'lead_id', 'lead_source',
  'lead_site_path', 'lead_referer', 'lead_ip', 'lead_country', 'lead_custom_params', 'agent_id', 'agent_name',
  'agent_email', 'agent_phone', 'started_at', 'agent_answered_at', 'lead_answered_at', 'ended_at',
  'answer_duration_sec', 'lead_answer_duration_sec', 'talk_duration_sec', 'total_duration_sec', 'disconnected_by',
  'recording_link', 'lead_created_at', 'speed_to_lead_sec', 'time_to_connect_sec',
]);

/** The columns the export reads, in the order `callCsvLine` reads them (the header's, `lead` and `agent` as JSON). */
export const callCsvSelect = [
  'call_id', 'source_id', 'status', 'first_event_at', 'last_event_at', 'event_count', 'user_id', 'widget_key',
  'widget_name', 'timezone', 'is_delayed_call', 'called_lead_phone', 'lead', 'agent', 'started_at',
  'agent_answered_at', 'lead_answered_at', 'ended_at', 'answer_duration_sec', 'lead_answer_duration_sec',
  'talk_duration_sec', 'total_duration_sec', 'disconnected_by', 'recording_link', 'lead_created_at',
  'speed_to_lead_sec', 'time_to_connect_sec',
] as const;

/** A page's first buffer; it doubles when a line does not fit (a page of 500 calls is ~250 kB). */
const initialBytes = 256 * 1024;

/** Rows read as arrays in `callCsvSelect` order → the export's lines (CRLF each) as one page. */
export function callCsvPage(rows: ReadonlyArray<readonly unknown[]>): CsvPage {
  // Each line is encoded into the page's buffer as it is made: one long string of a page (a rope of
  // thousands of pieces) cost more to flatten and encode at the end than the lines one by one.
  let bytes = Buffer.allocUnsafeSlow(initialBytes);
  let used = 0;
  let count = 0;
  let last: readonly unknown[] | null = null;
  for (const r of rows) {
    const line = callCsvLine(r);
    if (bytes.length - used < line.length * 3) {
      const larger = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, used + line.length * 3));
      bytes.copy(larger, 0, 0, used);
      bytes = larger;
    }
    used += bytes.write(line, used);
    count++;
    last = r;
  }
  return {
    bytes: bytes.subarray(0, used),
    rows: count,
    last: last === null ? null : { firstEventAt: last[3] as number, callId: last[0] as string, sourceId: last[1] as string },
  };
}

function callCsvLine(r: readonly unknown[]): string {
  const lead = r[12] === null ? null : (JSON.parse(r[12] as string) as Record<string, unknown> | null);
  const agent = r[13] === null ? null : (JSON.parse(r[13] as string) as Record<string, unknown> | null);
  const delayed = r[10] as number | null;
  const custom = lead?.custom_params;
  return (
    `${cell(r[0])},${cell(r[1])},${cell(r[2])},${time(r[3])},${time(r[4])},${cell(r[5])},` +
    `${csvCell(presentUserId(r[6] as string | null))},${cell(r[7])},${cell(r[8])},${cell(r[9])},` +
    `${delayed === null ? '' : delayed === 1 ? 'true' : 'false'},${cell(r[11])},` +
    (lead
      ? `${text(lead.lead_phone)},${text(lead.lead_id)},${text(lead.source)},${text(lead.site_path)},${text(lead.referer)},` +
        `${text(lead.ip)},${text(lead.country)},${custom === undefined || custom === null ? '' : csvCell(JSON.stringify(custom))},`
      : ',,,,,,,,') +
    (agent ? `${text(agent.id)},${text(agent.name)},${text(agent.email)},${text(agent.phone)},` : ',,,,') +
    `${time(r[14])},${time(r[15])},${time(r[16])},${time(r[17])},${cell(r[18])},${cell(r[19])},${cell(r[20])},` +
    `${cell(r[21])},${cell(r[22])},${cell(r[23])},${time(r[24])},${cell(r[25])},${cell(r[26])}\r\n`
  );
}

function cell(value: unknown): string {
  return csvCell(value as CsvValue);
}

function time(ms: unknown): string {
  return ms === null ? '' : csvCell(iso(ms as number));
}

/** A free-form payload value as a cell: strings and numbers as they are, anything else as JSON. */
function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return csvCell(value);
  return csvCell(JSON.stringify(value));
}
