/**
 * Turns the raw bytes of an ingest request into a Convolo event, or says precisely why it cannot.
 * Pure: no I/O. The caller keeps the raw bytes whatever the outcome.
 */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';

export interface ParsedEvent {
  kind: 'event';
  format: 'json' | 'form';
  type: string;
  callId: string;
  payload: Record<string, unknown>;
}
export type ParseOutcome =
  | ParsedEvent
  | { kind: 'invalid_json'; detail: string }
  | { kind: 'invalid_event'; fields: string[]; detail: string };

/** JSON.stringify recurses; a payload nested deeper than this could overflow the stack later on. */
export const maxNestingDepth = 64;
const eventTypePattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const maxCallIdLength = 255;

export function parseIngestBody(raw: Buffer, contentType: string | undefined): ParseOutcome {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded') {
    const payload = formToPayload(raw.toString('utf8'));
    if (depthOf(payload) > maxNestingDepth) return { kind: 'invalid_json', detail: `The form nests keys deeper than ${maxNestingDepth} levels.` };
    return toEvent(payload, 'form');
  }
  // Anything else is read as JSON: Convolo sends application/json, but proxies and tests send text/plain or
  // nothing at all, and refusing valid JSON for its label would lose an event.
  const text = decode(raw, charsetOf(contentType));
  if (text === null) return { kind: 'invalid_json', detail: 'The body is not valid text in its declared charset (UTF-8 by default).' };
  if (text.trim() === '') return { kind: 'invalid_json', detail: 'The body is empty.' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'invalid_json', detail: jsonErrorDetail((error as Error).message) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'invalid_json', detail: `The body is JSON but not an object (it is ${describe(value)}).` };
  }
  if (depthOf(value) > maxNestingDepth) {
    return { kind: 'invalid_json', detail: `The JSON is nested deeper than ${maxNestingDepth} levels.` };
  }
  return toEvent(value as Record<string, unknown>, 'json');
}

/**
 * The payload of a body that `parseIngestBody` accepted as an event, read again (the call merge inside the
 * append, on the SQLite writer thread). Those bytes passed its checks once — valid text in their charset, an
 * object, nested within `maxNestingDepth` — so a UTF-8 JSON body (Convolo's) is decoded and parsed without
 * the fatal decoder and the depth walk: the same string (a leading BOM dropped as TextDecoder drops it), the
 * same value, ~40 % less work. A form, another charset, or bytes that do not give an object take the full
 * path; null when that refuses them.
 */
export function acceptedPayload(raw: Buffer, contentType: string | undefined): Record<string, unknown> | null {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const charset = charsetOf(contentType);
  if (mediaType !== 'application/x-www-form-urlencoded' && (charset === 'utf-8' || charset === 'utf8') && isUtf8(raw)) {
    const bom = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
    try {
      const value: unknown = JSON.parse(raw.toString('utf8', bom));
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // Not JSON: the full path says so.
    }
  }
  const outcome = parseIngestBody(raw, contentType);
  return outcome.kind === 'event' ? outcome.payload : null;
}

function toEvent(payload: Record<string, unknown>, format: 'json' | 'form'): ParseOutcome {
  const fields: string[] = [];
  const problems: string[] = [];
  const type = payload.type;
  if (typeof type !== 'string' || !eventTypePattern.test(type)) {
    fields.push('type');
    problems.push(type === undefined || type === null ? '"type" is missing' : '"type" must be 1–64 of [A-Za-z0-9_.:-]');
  }
  const callId = normaliseCallId(payload.call_id);
  if (callId === null) {
    fields.push('call_id');
    problems.push(payload.call_id === undefined || payload.call_id === null ? '"call_id" is missing' : `"call_id" must be a non-empty string of at most ${maxCallIdLength} printable, well-formed characters`);
  }
  if (fields.length > 0) return { kind: 'invalid_event', fields, detail: problems.join('; ') };
  return { kind: 'event', format, type: type as string, callId: callId!, payload };
}

/**
 * V8's syntax errors may quote part of the input, which can hold a phone number (and NUL, which PostgreSQL
 * text cannot store): keep only the kinds of message that say where, never what.
 */
function jsonErrorDetail(message: string): string {
  if (message.startsWith('Unexpected end of JSON input')) return 'The JSON ends before it is complete.';
  const located = /^([^"]*? at position \d+)/.exec(message);
  if (located) return `${located[1]}.`;
  if (message.startsWith('Unexpected token')) return 'The body is not valid JSON: it has an unexpected character.';
  return 'The body is not valid JSON.';
}

function normaliseCallId(value: unknown): string | null {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || text.length === 0 || text.length > maxCallIdLength) return null;
  // A lone surrogate cannot be stored as UTF-8: two such ids would become the same key in the database.
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f]/.test(text) || !text.isWellFormed() ? null : text;
}

function charsetOf(contentType: string | undefined): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '');
  return match?.[1]?.toLowerCase() ?? 'utf-8';
}

const decoders = new Map<string, InstanceType<typeof TextDecoder>>();
/** Decodes with the declared charset (an unknown label falls back to UTF-8); null when the bytes are invalid. */
function decode(raw: Buffer, charset: string): string | null {
  let decoder = decoders.get(charset);
  if (!decoder) {
    try {
      decoder = new TextDecoder(charset, { fatal: true });
    } catch {
      decoder = decoders.get('utf-8') ?? new TextDecoder('utf-8', { fatal: true });
    }
    if (decoders.size < 32) decoders.set(charset, decoder);
  }
  try {
    return decoder.decode(raw);
  } catch {
    return null;
  }
}

/** Depth of nested objects and arrays, computed without recursion so hostile input cannot overflow the stack. */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) max = depth;
    if (max > maxNestingDepth) return max;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return max;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * The legacy after-call post (new format off) is a flat form. Keys in bracket notation (`lead[lead_phone]`)
 * become nested objects; flat `lead_*`, `agent_*` and `lc_param_*` keys are mapped to where the JSON format
 * keeps them. The mapping only fills what the form did not say in nested form; the raw form is kept anyway.
 * With no `type`, a legacy post is an after-call: `end_call`.
 */
const agentFields = new Set(['agent_id', 'agent_name', 'agent_phone', 'agent_email']);
const leadFields = new Set(['lead_phone', 'lead_id', 'lead_source', 'lead_country', 'lead_ip', 'lead_referer', 'lead_site_path', 'lead_time_created_iso_string']);

export function formToPayload(text: string): Record<string, unknown> {
  const payload: Record<string, unknown> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.split(/[[\]]+/).filter(Boolean);
    if (path.length === 0) continue;
    setPath(payload, path, value);
  }
  const lead = objectAt(payload, 'lead');
  const agent = objectAt(payload, 'agent');
  for (const [key, value] of Object.entries(payload)) {
    if (typeof value !== 'string') continue;
    if (agentFields.has(key)) fill(agent, key.slice('agent_'.length), value);
    else if (key === 'lead_phone' || key === 'lead_id') fill(lead, key, value);
    else if (leadFields.has(key)) fill(lead, key.slice('lead_'.length), value);
    else if (key.startsWith('lc_param_')) fill(objectAt(lead, 'custom_params'), key.slice('lc_param_'.length), value);
  }
  if (payload.type === undefined) payload.type = 'end_call';
  return { ...payload };
}

function setPath(target: Record<string, unknown>, path: string[], value: string): void {
  let node = target;
  for (const part of path.slice(0, -1)) node = objectAt(node, part);
  node[path.at(-1)!] = value;
}

function objectAt(target: Record<string, unknown>, key: string): Record<string, unknown> {
  const existing = target[key];
  if (existing !== null && typeof existing === 'object' && !Array.isArray(existing)) return existing as Record<string, unknown>;
  // Null-prototype objects: a form key like `a[__proto__][x]` must not reach Object.prototype.
  const created: Record<string, unknown> = Object.create(null);
  target[key] = created;
  return created;
}

function fill(target: Record<string, unknown>, key: string, value: string): void {
  if (target[key] === undefined) target[key] = value;
}
