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

/** A pending invitation: a one-time link for `email` to join with `role`. */
export const Invitation = Type.Object({
  id: Type.String({ description: '`inv_…`' }),
  email: Type.String({ description: 'Trimmed and lowercased; the account created with the link gets it.' }),
  role: Role,
  created_at: IsoTime(),
  expires_at: IsoTime({ description: 'The link works until then, once.' }),
});
export type Invitation = Static<typeof Invitation>;

export const InvitationList = List(Invitation);

/** A new invitation: `token` and `url` (the link to give the person) are shown this once. */
export const CreatedInvitation = Type.Object({
  ...Invitation.properties,
  token: Type.String({ description: 'The secret of the link, shown this once (only its SHA-256 digest is stored).' }),
  url: Type.String({ description: 'The link to give the person: `<public URL>/setup?invite=<token>`.' }),
});
export type CreatedInvitation = Static<typeof CreatedInvitation>;

/** What an invitation link offers, for the page that accepts it. */
export const InvitationCheck = Type.Object({ email: Type.String(), role: Role, expires_at: IsoTime() });
export type InvitationCheck = Static<typeof InvitationCheck>;
