import type { Call } from '../../../src/sdk/client.js';

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/**
 * The lead's name where Convolo or an integration put it: `lead_name` or `name` on the lead, or in
 * `additional` (the open field; the simulator puts it there).
 */
export function leadName(call: Pick<Call, 'lead'>): string | null {
  const lead = call.lead as Record<string, unknown> | null;
  const additional = lead?.additional as Record<string, unknown> | null | undefined;
  return str(lead?.lead_name) ?? str(lead?.name) ?? (additional && typeof additional === 'object' ? str(additional.name) : null);
}

/** The number dialled, else the lead's own. */
export function leadPhone(call: Pick<Call, 'lead' | 'called_lead_phone'>): string | null {
  return str(call.called_lead_phone) ?? str((call.lead as Record<string, unknown> | null)?.lead_phone);
}
