import { readFileSync } from 'node:fs';
import { callEventOf, mergeCall, type CallState } from '../../src/domain/call.js';
import { envelopeJson, type EventStatus } from '../../src/domain/envelope.js';
import type { SourceId } from '../../src/domain/ids.js';
import { newWebhookSecret, signatureHeaders } from '../../src/relay/signing.js';

/**
 * Envelopes exactly as the server builds them (its own envelopeJson over a merged call), and webhooks signed
 * exactly as its delivery worker signs them: what the SDK's tests verify and dispatch.
 */
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/convolo/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
export const startPayload = { ...fixture('start_call'), lead: { ...(fixture('start_call').lead as object), custom_params: { crm_id: '42', campaign: 'spring' } } };
export const endPayload = fixture('end_call');

const sourceId = 'src_test' as SourceId;
const t0 = Date.parse('2026-11-27T10:00:00Z');

export function envelopeOf(payload: Record<string, unknown>, options: { id?: string; previous?: CallState | null; status?: EventStatus; type?: string; at?: number } = {}) {
  const at = options.at ?? t0;
  const type = options.type ?? (payload.type as string);
  const callId = (payload.call_id as string | undefined) ?? null;
  const known = type === 'start_call' || type === 'end_call';
  const callAfter = known && callId ? mergeCall(options.previous ?? null, sourceId, callId, callEventOf(type, payload, at)) : (options.previous ?? null);
  const json = envelopeJson({
    seq: 1, id: options.id ?? `evt_${Math.random().toString(36).slice(2)}`, type, status: options.status ?? 'ok', sourceId: options.status === 'system' && !callId ? '' : sourceId,
    callId, receivedAt: at, contentType: 'application/json', body: Buffer.from(JSON.stringify(payload)), callAfter,
  });
  return { json, callAfter };
}

/** A started-then-ended call: the two envelopes Switchboard relays for it. */
export function callEnvelopes() {
  const started = envelopeOf(startPayload);
  const ended = envelopeOf({ ...endPayload, lead: startPayload.lead }, { previous: started.callAfter, at: t0 + 60_000 });
  return { started: started.json, ended: ended.json };
}

export const secret = newWebhookSecret();

/** The headers the delivery worker sends with `body`, signed `ageSec` ago with these secrets. */
export function signed(body: string, options: { secrets?: string[]; ageSec?: number; id?: string } = {}) {
  const id = options.id ?? (JSON.parse(body) as { id: string }).id;
  return { ...signatureHeaders({ id, timestampSec: Math.floor(Date.now() / 1000) - (options.ageSec ?? 0), payload: body, secrets: options.secrets ?? [secret] }) };
}
