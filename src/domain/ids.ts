import { randomBytes } from 'node:crypto';

/**
 * Typed, prefixed ids (as Svix's `create_id_type!`): an EventId is not a SourceId by accident.
 * The body is time-ordered (base36 milliseconds) then random, so ids sort roughly by creation.
 */
declare const brand: unique symbol;
type Id<P extends string> = `${P}_${string}` & { readonly [brand]: P };

export type EventId = Id<'evt'>;
export type SourceId = Id<'src'>;
export type ApiKeyId = Id<'key'>;
export type DestinationId = Id<'dst'>;
export type DeliveryId = Id<'dlv'>;

const prefixes = { evt: true, src: true, key: true, dst: true, dlv: true } as const;
type Prefix = keyof typeof prefixes;

export function newId<P extends Prefix>(prefix: P): Id<P> {
  const time = Date.now().toString(36).padStart(9, '0');
  return `${prefix}_${time}${randomBytes(9).toString('base64url')}` as Id<P>;
}

export function isId<P extends Prefix>(prefix: P, value: unknown): value is Id<P> {
  return typeof value === 'string' && /^[a-z]{3}_[0-9a-z]{9}[A-Za-z0-9_-]{12}$/.test(value) && value.startsWith(`${prefix}_`);
}
