import type { CallState } from './call.js';

/**
 * The call record keeps Convolo's `lead` and `agent` objects, which are open (custom params, `additional`,
 * anything a sender adds). Unbounded, one sender's 1 MB field would make every page of /v1/calls that lists
 * the call, and every event relayed for it, carry that megabyte. So the record keeps each of `lead`,
 * `agent` and `lead.custom_params` within `maxBytes` serialized (UTF-8 JSON); the raw event keeps
 * everything, exactly as sent (`GET /v1/events/{id}`).
 *
 * The rule, applied after each merge:
 * 1. `lead.custom_params` larger than `maxBytes` becomes a marker `{"_truncated": true, "_bytes": N}` (N: its
 *    serialized size).
 * 2. `lead` or `agent` still larger than `maxBytes`: its largest fields become markers, largest first,
 *    until it fits; if it does not fit even so (a great many small fields), the whole object becomes a marker.
 * A marker is replaced like any value when a later event brings a value that fits.
 */
export const defaultCallObjectMaxBytes = 16 * 1024;

export interface TruncatedMarker {
  _truncated: true;
  _bytes: number;
}

/**
 * @example
 * boundCall(call, 16 * 1024).lead; // { phone: '+1…', additional: { _truncated: true, _bytes: 1048576 } }
 */
export function boundCall(call: CallState, maxBytes: number): CallState {
  return boundCallJson(call, maxBytes).call;
}

/**
 * boundCall, with the JSON text of the bounded record's lead and agent (`'null'` when absent): measuring them
 * takes that text, and the append stores it (the call row, the event's call_after), so it is made once.
 */
export function boundCallJson(call: CallState, maxBytes: number): { call: CallState; lead: string; agent: string } {
  const lead = boundLead(call.lead, maxBytes);
  const agent = boundObject(call.agent, maxBytes);
  const bounded = lead.value === call.lead && agent.value === call.agent ? call : { ...call, lead: lead.value, agent: agent.value };
  return { call: bounded, lead: lead.json, agent: agent.json };
}

/** An object within the bound, and its JSON text. */
interface Bounded {
  value: Record<string, unknown> | null;
  json: string;
}

function boundLead(lead: Record<string, unknown> | null, maxBytes: number): Bounded {
  if (lead === null) return { value: null, json: 'null' };
  // Most leads are a few hundred bytes: one stringify decides, and nothing is copied.
  const json = JSON.stringify(lead);
  if (Buffer.byteLength(json) <= maxBytes) return { value: lead, json };
  let bounded = lead;
  if ('custom_params' in lead && over(lead.custom_params, maxBytes)) bounded = { ...lead, custom_params: marker(lead.custom_params) };
  return boundObject(bounded, maxBytes);
}

function boundObject(value: Record<string, unknown> | null, maxBytes: number): Bounded {
  if (value === null) return { value: null, json: 'null' };
  const json = JSON.stringify(value);
  const total = Buffer.byteLength(json);
  if (total <= maxBytes) return { value, json };
  const fields = Object.entries(value).map(([key, v]) => ({ key, size: sizeOf(v) })).sort((a, b) => b.size - a.size);
  const bounded = { ...value };
  let size = total;
  for (const { key, size: fieldSize } of fields) {
    if (size <= maxBytes) break;
    const replacement = { _truncated: true, _bytes: fieldSize } satisfies TruncatedMarker;
    const saved = fieldSize - sizeOf(replacement);
    if (saved <= 0) break; // the rest are smaller than their marker would be
    bounded[key] = replacement;
    size -= saved;
  }
  const result = size <= maxBytes ? bounded : (marker(value) as unknown as Record<string, unknown>);
  return { value: result, json: JSON.stringify(result) };
}

function marker(value: unknown): TruncatedMarker {
  return { _truncated: true, _bytes: sizeOf(value) };
}

function over(value: unknown, maxBytes: number): boolean {
  return sizeOf(value) > maxBytes;
}

/** Serialized size in UTF-8 bytes (0 for undefined, which JSON leaves out). */
function sizeOf(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(json);
}
