import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, List, Nullable, StringEnum } from './shared.js';

/** `viewer` reads everything (as a `read` key); `admin` also changes things (as an `admin` key). */
export const Role = StringEnum(['viewer', 'admin'], { description: 'viewer: reads everything (as a read key); admin: also changes things' });
export type Role = Static<typeof Role>;

/** A person who signs in to the dashboard. */
export const User = Type.Object({
  id: Type.String({ description: '`usr_…`' }),
  email: Type.String({ description: 'Trimmed and lowercased.' }),
  name: Nullable(Type.String()),
  role: Role,
  created_at: IsoTime(),
});
export type User = Static<typeof User>;

export const UserList = List(User);

/** The signed-in user of a session, and when the session ends at the latest. */
export const SessionAnswer = Type.Object({
  user: User,
  expires_at: IsoTime({ description: 'When the session ends at the latest (it also ends after SWITCHBOARD_SESSION_IDLE_MIN unused).' }),
});
export type SessionAnswer = Static<typeof SessionAnswer>;

export const SetupCheck = Type.Object({ valid: Type.Literal(true) });
