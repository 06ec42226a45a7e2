import { randomFillSync } from 'node:crypto';

/**
 * Typed, prefixed ids (as Svix's `create_id_type!`): an EventId is not a SourceId by accident.
 * The body is time-ordered (base36 milliseconds) then random, so ids sort roughly by creation.
 */
declare const brand: unique symbol;
export type Id<P extends string> = `${P}_${string}` & { readonly [brand]: P };

export type EventId = Id<'evt'>;
export type SourceId = Id<'src'>;
export type ApiKeyId = Id<'key'>;
export type DestinationId = Id<'dst'>;
export type DeliveryId = Id<'dlv'>;
export type UserId = Id<'usr'>;
export type InvitationId = Id<'inv'>;
/** A database's log (storage migration 0024 makes it, in this shape, without this module). */
export type LogId = Id<'log'>;
/** A log id as `newId('log')` makes it (9 base36 characters of time, 12 base64url of randomness): what the stream takes as `log_id`. */
export const logIdPattern = '^log_[0-9a-z]{9}[0-9A-Za-z_-]{12}$';
export type Prefix = 'evt' | 'src' | 'key' | 'dst' | 'dlv' | 'usr' | 'inv' | 'rcn' | 'log';

// Random bytes are drawn 4 KiB at a time: one call into OpenSSL per ~450 ids instead of one per id,
// which showed in the ingest profile.
const pool = Buffer.alloc(4096);
let offset = pool.length;

/**
 * `value` as an id of this kind, or null when it lacks the kind's prefix: every id is made by `newId`, so
 * such a value names nothing that exists. For ids that arrive as text (URL parameters, query filters).
 * @example parseId('dst', request.params.id) // DestinationId | null
 */
export function parseId<P extends Prefix>(prefix: P, value: string): Id<P> | null {
  return value.startsWith(`${prefix}_`) ? (value as Id<P>) : null;
}

export function newId<P extends Prefix>(prefix: P): Id<P> {
  if (offset + 9 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.toString('base64url', offset, (offset += 9));
  const time = Date.now().toString(36).padStart(9, '0');
  return `${prefix}_${time}${random}` as Id<P>;
}
