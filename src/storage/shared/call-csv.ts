import { csvFormula, csvLine, csvQuoteCodes, csvText, formulaCode } from '../../domain/csv-cells.js';
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

// The page being written: its buffer and how much of it is used. A page is written in one synchronous call
// (callCsvPage), so one pair serves every page.
let out = Buffer.allocUnsafeSlow(0);
let at = 0;

/**
 * Rows read as arrays in `callCsvSelect` order → the export's lines (CRLF each) as one page.
 *
 * The cells go into the page's buffer as they are made, byte by byte: text that is ASCII and needs neither
 * quotes nor a defusing quote (nearly every cell) is copied as it is scanned, times and numbers are written
 * as digits, so a line makes no string of its own (building each line as a string, then encoding it, was
 * most of the export's time: ~75 pieces joined, flattened, encoded). Any other text cell is written from
 * `csvText`, UTF-8 encoded, so the bytes are exactly `csvCell`'s.
 *
 * `into`: the memory of a page already sent, to write this one into (a larger one replaces it when the lines
 * do not fit), so that an export reuses a few buffers instead of making one per page (api/v1-calls.ts,
 * api/callback-body.ts).
 */
export function callCsvPage(rows: ReadonlyArray<readonly unknown[]>, into?: ArrayBuffer): CsvPage {
  out = into === undefined ? Buffer.allocUnsafeSlow(initialBytes) : Buffer.from(into);
  at = 0;
  for (const r of rows) putLine(r);
  const bytes = out.subarray(0, at);
  out = Buffer.allocUnsafeSlow(0);
  const last = rows.length === 0 ? null : rows[rows.length - 1]!;
  return {
    bytes,
    rows: rows.length,
    last: last === null ? null : { firstEventAt: last[3] as number, callId: last[0] as string, sourceId: last[1] as string },
  };
}

const comma = 44;

function putLine(r: readonly unknown[]): void {
  const lead = r[12] === null ? null : (JSON.parse(r[12] as string) as Record<string, unknown> | null);
  const delayed = r[10] as number | null;
  put(r[0]), sep(), put(r[1]), sep(), put(r[2]), sep(), putTime(r[3]), sep(), putTime(r[4]), sep(), put(r[5]), sep();
  put(presentUserId(r[6] as string | null)), sep(), put(r[7]), sep(), put(r[8]), sep(), put(r[9]), sep();
  if (delayed !== null) putAscii(delayed === 1 ? 'true' : 'false');
  sep(), put(r[11]), sep();
  if (lead) {
    putValue(lead.lead_phone), sep(), putValue(lead.lead_id), sep(), putValue(lead.source), sep();
    putValue(lead.site_path), sep(), putValue(lead.referer), sep(), putValue(lead.ip), sep(), putValue(lead.country), sep();
    const custom = lead.custom_params;
    if (custom !== undefined && custom !== null) putText(JSON.stringify(custom));
    sep();
  } else {
    putAscii(',,,,,,,,');
  }
  if (r[13] === null) putAscii(',,,,');
  else putAgent(r[13] as string);
  putTime(r[14]), sep(), putTime(r[15]), sep(), putTime(r[16]), sep(), putTime(r[17]), sep();
  put(r[18]), sep(), put(r[19]), sep(), put(r[20]), sep(), put(r[21]), sep(), put(r[22]), sep(), put(r[23]), sep();
  putTime(r[24]), sep(), put(r[25]), sep(), put(r[26]);
  room(2);
  out[at++] = 13;
  out[at++] = 10;
}

/**
 * The agent's four cells, from its JSON. The same agent answers many calls, with the same JSON text: its cells'
 * bytes are kept by that text (a few hundred agents at most) and copied, not parsed and written again.
 */
function putAgent(json: string): void {
  const known = agentCells.get(json);
  if (known !== undefined) {
    room(known.length);
    out.set(known, at);
    at += known.length;
    return;
  }
  const start = at;
  const agent = JSON.parse(json) as Record<string, unknown> | null;
  if (agent) putValue(agent.id), sep(), putValue(agent.name), sep(), putValue(agent.email), sep(), putValue(agent.phone), sep();
  else putAscii(',,,,');
  if (agentCells.size >= 512) agentCells.clear();
  agentCells.set(json, Uint8Array.prototype.slice.call(out, start, at));
}
const agentCells = new Map<string, Uint8Array>();

/** Room for `bytes` more bytes: a larger buffer with the page so far when the page's is full. */
function room(bytes: number): void {
  if (out.length - at >= bytes) return;
  const larger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, at + bytes));
  out.copy(larger, 0, 0, at);
  out = larger;
}

function sep(): void {
  room(1);
  out[at++] = comma;
}

/** A stored value (text, a number or null): text as a text cell, numbers as they are. */
function put(value: unknown): void {
  if (value === null) return;
  if (typeof value === 'string') putText(value);
  else if (typeof value === 'number') putNumber(value);
  else putUtf8(String(value));
}

/** Text as it is, UTF-8 (a BLOB read from a column, as `String` writes it). */
function putUtf8(text: string): void {
  room(text.length * 3);
  at += out.write(text, at);
}

/** A free-form payload value: strings and numbers as they are, anything else as JSON. */
function putValue(value: unknown): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') putText(value);
  else if (typeof value === 'number') putNumber(value);
  else if (typeof value === 'boolean') putAscii(value ? 'true' : 'false');
  else putText(JSON.stringify(value));
}

/** A number as `String(n)` writes it: the digits of a small integer straight, any other through `String`. */
function putNumber(n: number): void {
  if (!Number.isInteger(n) || n <= -2_147_483_648 || n >= 2_147_483_648) return putAscii(String(n));
  room(11);
  const bytes = out;
  let end = at;
  let rest = n | 0;
  if (rest < 0) {
    bytes[end++] = 45;
    rest = -rest;
  }
  let digits = 1;
  for (let r = rest; r >= 10; r = (r / 10) | 0) digits++;
  end += digits;
  for (let i = end - 1; i >= end - digits; i--) {
    bytes[i] = 48 + (rest % 10);
    rest = (rest / 10) | 0;
  }
  at = end;
}

/** Text known to be ASCII that needs no quotes (numbers, `true`, separators). */
function putAscii(text: string): void {
  const length = text.length;
  room(length);
  const bytes = out;
  let end = at;
  for (let i = 0; i < length; i++) bytes[end++] = text.charCodeAt(i);
  at = end;
}

/**
 * A text cell as `csvText` writes it. ASCII that holds none of `"` `,` `;` TAB CR LF is copied while it is
 * scanned, with the defusing `'` first when it starts with `=` `+` `-` `@` (`csvText`'s plain case); at the
 * first other character the cell is written again from `csvText`.
 */
function putText(text: string): void {
  const length = text.length;
  room(length + 1);
  const bytes = out;
  let end = at;
  if (length > 0) {
    const first = text.charCodeAt(0);
    if (first === 32) return putEncoded(text);
    if (formulaCode(first)) bytes[end++] = 39;
  }
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return putEncoded(text);
    if (c <= 59 && csvQuoteCodes[c] === 1) return putQuoted(text);
    bytes[end++] = c;
  }
  at = end;
}

/** ASCII text holding a separator or a quote, as `csvText` writes it: quoted, quotes doubled, defused if a formula. */
function putQuoted(text: string): void {
  const length = text.length;
  room(length * 2 + 3);
  const bytes = out;
  let end = at;
  bytes[end++] = 34;
  if (csvFormula(text)) bytes[end++] = 39;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return putEncoded(text);
    if (c === 34) bytes[end++] = 34;
    bytes[end++] = c;
  }
  bytes[end++] = 34;
  at = end;
}

function putEncoded(text: string): void {
  putUtf8(csvText(text));
}

/** `iso(ms)`'s bytes: digits written straight in the years 1970–9999 (integers), `iso` itself otherwise. */
function putTime(ms: unknown): void {
  if (ms === null) return;
  const t = ms as number;
  if (!Number.isInteger(t) || t < 0 || t >= 253_402_300_800_000) return putText(iso(t));
  // The date part is kept for the last day seen (rows come in time order); the rest is int32 arithmetic.
  if (t < dayStart || t >= dayStart + msPerDay) {
    dayStart = t - (t % msPerDay);
    dayPrefix = iso(dayStart).slice(0, 11);
  }
  room(24);
  const bytes = out;
  let end = at;
  for (let i = 0; i < 11; i++) bytes[end++] = dayPrefix.charCodeAt(i);
  let rest = (t - dayStart) | 0;
  const milli = rest % 1000;
  rest = (rest / 1000) | 0;
  const sec = rest % 60;
  rest = (rest / 60) | 0;
  const min = rest % 60;
  const hour = (rest / 60) | 0;
  bytes[end++] = 48 + ((hour / 10) | 0);
  bytes[end++] = 48 + (hour % 10);
  bytes[end++] = 58;
  bytes[end++] = 48 + ((min / 10) | 0);
  bytes[end++] = 48 + (min % 10);
  bytes[end++] = 58;
  bytes[end++] = 48 + ((sec / 10) | 0);
  bytes[end++] = 48 + (sec % 10);
  bytes[end++] = 46;
  bytes[end++] = 48 + ((milli / 100) | 0);
  bytes[end++] = 48 + (((milli / 10) | 0) % 10);
  bytes[end++] = 48 + (milli % 10);
  bytes[end++] = 90;
  at = end;
}

const msPerDay = 86_400_000;
let dayStart = Infinity;
let dayPrefix = '';
