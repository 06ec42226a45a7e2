import type { DestinationId } from './ids.js';
import { isOperationalType } from './envelope.js';

/** An outbound webhook endpoint (SPEC "Outbound webhooks"). */
export interface Destination {
  id: DestinationId;
  url: string;
  description: string | null;
  /** Envelope types to send (null: every Convolo event type and call.stale, no operational event). */
  eventTypes: string[] | null;
  widgetKeys: string[] | null;
  callStatuses: string[] | null;
  headers: Record<string, string> | null;
  rateLimitPerSec: number | null;
  /** The most requests in flight to it per worker (null: the configured default). */
  maxConcurrency: number | null;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  disabledAt: number | null;
  disabledReason: string | null;
  failingSince: number | null;
  /** Paused by an administrator: its deliveries are queued but none is sent until it is resumed. */
  pausedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What a destination's filters look at. */
export interface MatchInput {
  type: string;
  widgetKey: string | null;
  callStatus: string | null;
  /** For operational events: the destination they are about (never sent to it: a loop otherwise). */
  aboutDestination: string | null;
}

export type DestinationFilters = Pick<Destination, 'id' | 'eventTypes' | 'widgetKeys' | 'callStatuses'>;

export function matchesDestination(d: DestinationFilters, e: MatchInput): boolean {
  if (d.eventTypes ? !d.eventTypes.includes(e.type) : isOperationalType(e.type)) return false;
  if (e.aboutDestination === d.id) return false;
  if (d.widgetKeys && (e.widgetKey === null || !d.widgetKeys.includes(e.widgetKey))) return false;
  if (d.callStatuses && (e.callStatus === null || !d.callStatuses.includes(e.callStatus))) return false;
  return true;
}

/** The secrets a delivery is signed with at `now`: the current one, and the previous one during its grace. */
export function signingSecrets(d: Pick<Destination, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>, now: number): string[] {
  return d.previousSecret && (d.previousSecretExpiresAt ?? 0) > now ? [d.secret, d.previousSecret] : [d.secret];
}
