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
  /** Secrets it had before, newest first, each signing beside `secret` until it expires (at most `maxPreviousSecrets`). */
  previousSecrets: PreviousSecret[];
  disabledAt: number | null;
  disabledReason: string | null;
  failingSince: number | null;
  /** Paused by an administrator: its deliveries are queued but none is sent until it is resumed. */
  pausedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A secret a rotation replaced, and the end of its grace period (ms): until then deliveries are signed with it too. */
export interface PreviousSecret {
  secret: string;
  expiresAt: number;
}

/** The most previous secrets a destination keeps signing with; a rotation beyond drops the oldest. */
export const maxPreviousSecrets = 5;

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

/** The secrets a delivery is signed with at `now`: the current one, then each previous one still in its grace. */
export function signingSecrets(d: Pick<Destination, 'secret' | 'previousSecrets'>, now: number): string[] {
  return [d.secret, ...livePreviousSecrets(d, now).map((p) => p.secret)];
}

/** The previous secrets whose grace has not ended at `now`, newest first. */
export function livePreviousSecrets(d: Pick<Destination, 'previousSecrets'>, now: number): PreviousSecret[] {
  return d.previousSecrets.filter((p) => p.expiresAt > now);
}

/**
 * The previous secrets after a rotation at `now`: the secret being replaced, signing until `expiresAt`, then
 * those still in their own grace (each keeps its own end), the `maxPreviousSecrets` most recent.
 */
export function previousSecretsAfterRotation(d: Pick<Destination, 'secret' | 'previousSecrets'>, expiresAt: number, now: number): PreviousSecret[] {
  return [{ secret: d.secret, expiresAt }, ...livePreviousSecrets(d, now).filter((p) => p.secret !== d.secret)].slice(0, maxPreviousSecrets);
}
