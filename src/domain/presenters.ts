import type { CallState } from './call.js';

/** Times are epoch milliseconds inside, ISO strings on the wire. */
const timeFields = new Set(['started_at', 'agent_answered_at', 'lead_answered_at', 'ended_at', 'lead_created_at', 'first_event_at', 'last_event_at'] as const);
type TimeField = typeof timeFields extends Set<infer F> ? F : never;
/** Kept for merging and filtering, not shown: `merge_rank`, and `agent_id` (the record shows `agent.id`). */
const internalFields = new Set(['merge_rank', 'agent_id']);

/** The call record as the API and the relay envelope show it (SPEC "The call record"). */
export type CallRecord = Omit<CallState, TimeField | 'merge_rank' | 'agent_id' | 'user_id'> & {
  [K in TimeField]: null extends CallState[K] ? string | null : string;
} & { user_id: number | string | null };

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function presentCall(c: CallState): CallRecord {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(c)) {
    if (internalFields.has(key)) continue;
    record[key] = timeFields.has(key as TimeField) ? iso(value as number | null) : value;
  }
  // Convolo sends numeric user ids; they are stored as text so that no value is refused.
  if (c.user_id !== null && /^-?\d{1,15}$/.test(c.user_id)) record.user_id = Number(c.user_id);
  return record as CallRecord;
}
