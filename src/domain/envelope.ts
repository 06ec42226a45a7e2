import { TextDecoder } from 'node:util';
import type { CallState } from './call.js';
import { parseIngestBody } from './parse-body.js';
import { iso, presentCall } from './presenters.js';

/**
 * The relay envelope (SPEC "Relay envelope"): what the stream and the outbound webhooks carry for each event
 * of the log. Built once per event and sent as is to every client and destination.
 */
export type EventStatus = 'ok' | 'quarantined' | 'system';

/** Events Switchboard itself appends to the log (status `system`); their stored type is the envelope type. */
export const systemTypes = {
  callStale: 'call.stale',
  deliveryFailed: 'switchboard.delivery.failed',
  destinationDisabled: 'switchboard.destination.disabled',
  reconcileGap: 'switchboard.reconcile.gap',
} as const;

/** Sent by `POST /v1/destinations/{id}/test`; never stored in the log. */
export const testEventType = 'switchboard.test';

/** An event of the log, as the relay needs it. */
export interface RelayEvent {
  seq: number;
  id: string;
  type: string | null;
  status: EventStatus;
  /** Empty for operational events that concern no source. */
  sourceId: string;
  callId: string | null;
  receivedAt: number;
  contentType: string | null;
  body: Buffer | null;
  callAfter: CallState | null;
  /** 'reconcile': fetched from Convolo's call list (its webhook never came); absent or 'webhook' otherwise. */
  origin?: 'webhook' | 'reconcile';
}

export function envelopeType(status: EventStatus, type: string | null): string {
  if (status === 'system') return type ?? 'switchboard.unknown';
  if (type === 'start_call') return 'call.started';
  if (type === 'end_call') return 'call.ended';
  return `convolo.${type ?? 'unknown'}`;
}

/**
 * The stored (status, type) an envelope type names, envelopeType's inverse: `call.started` is a Convolo
 * `start_call`, `convolo.x` a Convolo `x`, anything else an operational (system) event's own type.
 */
export function envelopeTypeParts(envelope: string): { system: boolean; type: string } {
  if (envelope === 'call.started') return { system: false, type: 'start_call' };
  if (envelope === 'call.ended') return { system: false, type: 'end_call' };
  if (envelope.startsWith('convolo.')) return { system: false, type: envelope.slice('convolo.'.length) };
  return { system: true, type: envelope };
}

/** Operational events reach a destination only when it lists them (and never the one they are about). */
export function isOperationalType(type: string): boolean {
  return type.startsWith('switchboard.');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The envelope as JSON text. `data` is Convolo's payload verbatim: for a UTF-8 JSON body, its own text is
 * spliced in unchanged (numbers beyond 2^53, key order and spacing survive); a form post or another charset
 * is given as the object it parsed to.
 */
export function envelopeJson(e: RelayEvent): string {
  const head = JSON.stringify({
    id: e.id,
    type: envelopeType(e.status, e.type),
    created_at: iso(e.receivedAt),
    source_id: e.sourceId === '' ? null : e.sourceId,
    call_id: e.callId,
  });
  const call = e.callAfter ? JSON.stringify(presentCall(e.callAfter)) : 'null';
  // Additive to SPEC's envelope: only an event the reconciler added says so; a webhook's envelope is unchanged.
  const origin = e.origin === 'reconcile' ? ',"origin":"reconcile"' : '';
  return `${head.slice(0, -1)}${origin},"data":${dataJson(e)},"call":${call}}`;
}

function dataJson(e: RelayEvent): string {
  if (!e.body) return 'null';
  const text = e.status === 'system' || isUtf8Json(e.contentType) ? verbatimJson(e.body) : null;
  if (text !== null) return text;
  const outcome = parseIngestBody(e.body, e.contentType ?? undefined);
  return outcome.kind === 'event' ? JSON.stringify(outcome.payload) : 'null';
}

/** The body's text when it is UTF-8 JSON that can be spliced as is (no BOM, which JSON does not allow). */
function verbatimJson(body: Buffer): string | null {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return null;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return null;
  }
  try {
    JSON.parse(text);
    return text;
  } catch {
    return null;
  }
}

/** Not a form post, and no charset other than UTF-8 declared (bytes in another charset must be decoded). */
function isUtf8Json(contentType: string | null): boolean {
  const [mediaType, ...params] = (contentType ?? '').toLowerCase().split(';');
  if (mediaType!.trim() === 'application/x-www-form-urlencoded') return false;
  const charset = params.map((p) => p.trim()).find((p) => p.startsWith('charset='))?.slice('charset='.length).replaceAll('"', '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/** What a destination's filters look at in an event of the log (see destination.ts). */
export function matchInputOf(e: Pick<RelayEvent, 'status' | 'type' | 'body' | 'callAfter'>) {
  const type = envelopeType(e.status, e.type);
  return {
    type,
    widgetKey: e.callAfter?.widget_key ?? null,
    callStatus: e.callAfter?.status ?? null,
    aboutDestination: isOperationalType(type) ? destinationIdIn(e.body) : null,
  };
}

function destinationIdIn(body: Buffer | null): string | null {
  try {
    const data = JSON.parse(body?.toString('utf8') ?? 'null') as { destination_id?: unknown } | null;
    return typeof data?.destination_id === 'string' ? data.destination_id : null;
  } catch {
    return null;
  }
}
