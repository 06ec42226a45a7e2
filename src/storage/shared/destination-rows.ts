import { maxPreviousSecrets, type Destination, type DestinationFilters, type PreviousSecret } from '../../domain/destination.js';
import type { DestinationId } from '../../domain/ids.js';
import type { DeliveriesTable, DestinationsTable } from '../schema.js';
import type { Delivery, DeliveryStatus } from '../ports.js';

/** Destination ⇄ row: lists and headers as JSON text. Free of Kysely at run time (the SQLite writer loads it). */
export function destinationToRow(d: Destination, deletedAt: number | null = null): DestinationsTable {
  return {
    id: d.id,
    url: d.url,
    description: d.description,
    event_types: json(d.eventTypes),
    widget_keys: json(d.widgetKeys),
    call_statuses: json(d.callStatuses),
    headers: json(d.headers),
    rate_limit_per_sec: d.rateLimitPerSec,
    max_concurrency: d.maxConcurrency,
    secret: d.secret,
    ...previousSecretColumns(d.previousSecrets),
    disabled_at: d.disabledAt,
    disabled_reason: d.disabledReason,
    failing_since: d.failingSince,
    paused_at: d.pausedAt,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    deleted_at: deletedAt,
  };
}

export function rowToDestination(r: DestinationsTable): Destination {
  return {
    ...rowToFilters(r),
    url: r.url,
    description: r.description,
    headers: parse(r.headers),
    rateLimitPerSec: r.rate_limit_per_sec,
    maxConcurrency: r.max_concurrency ?? null,
    secret: r.secret,
    previousSecrets: rowToPreviousSecrets(r),
    disabledAt: num(r.disabled_at),
    disabledReason: r.disabled_reason,
    failingSince: num(r.failing_since),
    pausedAt: num(r.paused_at ?? null),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/**
 * The columns of a destination's previous secrets: all of them in `previous_secrets`, and the newest in the
 * one slot of versions before 0021, which nodes of such a version read and write during a rolling upgrade.
 */
export function previousSecretColumns(previous: readonly PreviousSecret[]): Pick<DestinationsTable, 'previous_secret' | 'previous_secret_expires_at' | 'previous_secrets'> {
  const [newest] = previous;
  return {
    previous_secret: newest?.secret ?? null,
    previous_secret_expires_at: newest?.expiresAt ?? null,
    previous_secrets: previous.length === 0 ? null : JSON.stringify(previous.map((p) => ({ secret: p.secret, expires_at: p.expiresAt }))),
  };
}

/**
 * A row's previous secrets, newest first: the one slot's first (a node of a version before 0021 rotating
 * writes only there, so it is the newest; after a rotation of this version it repeats the list's first),
 * then the list's, without the current secret or a repeat.
 */
function rowToPreviousSecrets(r: Pick<DestinationsTable, 'secret' | 'previous_secret' | 'previous_secret_expires_at' | 'previous_secrets'>): PreviousSecret[] {
  const listed = r.previous_secrets === null ? [] : (JSON.parse(r.previous_secrets) as Array<{ secret: string; expires_at: number }>).map((p) => ({ secret: p.secret, expiresAt: Number(p.expires_at) }));
  const slot = r.previous_secret === null ? [] : [{ secret: r.previous_secret, expiresAt: Number(r.previous_secret_expires_at ?? 0) }];
  const seen = new Set([r.secret]);
  const previous: PreviousSecret[] = [];
  for (const p of [...slot, ...listed]) {
    if (seen.has(p.secret)) continue;
    seen.add(p.secret);
    previous.push(p);
  }
  return previous.slice(0, maxPreviousSecrets);
}

/** What the outbox needs of a destination to decide whether an event goes to it. */
export function rowToFilters(r: Pick<DestinationsTable, 'id' | 'event_types' | 'widget_keys' | 'call_statuses'>): DestinationFilters {
  return { id: r.id as DestinationId, eventTypes: parse(r.event_types), widgetKeys: parse(r.widget_keys), callStatuses: parse(r.call_statuses) };
}

export function rowToDelivery(r: DeliveriesTable): Delivery {
  return {
    id: r.id as Delivery['id'],
    destinationId: r.destination_id as Delivery['destinationId'],
    eventSeq: Number(r.event_seq),
    eventId: r.event_id as Delivery['eventId'],
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    scheduleStart: r.schedule_start,
    nextAttemptAt: Number(r.next_attempt_at),
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    finishedAt: num(r.finished_at),
    lease: num(r.locked_until),
  };
}

/** The columns of a delivery row, in DeliveriesTable's order (for the backends' bulk inserts). */
export const deliveryColumns = [
  'id', 'destination_id', 'event_seq', 'event_id', 'order_key', 'status', 'attempts', 'schedule_start', 'next_attempt_at',
  'locked_until', 'last_status', 'last_error', 'created_at', 'updated_at', 'finished_at',
] as const satisfies ReadonlyArray<keyof DeliveriesTable>;

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const num = (value: number | null) => (value === null ? null : Number(value));
