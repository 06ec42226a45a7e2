import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, List, Nullable, StringEnum } from './shared.js';

const Scope = StringEnum(['read', 'admin']);

/** An API key as listed: only a hint of the key itself (the database holds its digest). */
export const ApiKeyInfo = Type.Object({
  id: Type.String({ description: '`key_…`' }),
  name: Type.String(),
  scope: Scope,
  key_hint: Type.String(),
  status: StringEnum(['active', 'revoked']),
  created_at: IsoTime(),
  revoked_at: Nullable(IsoTime()),
  last_used_at: Nullable(IsoTime({ description: 'The start of the last minute in which the key was used (written at most once a minute per key and node); null: never.' })),
});
export type ApiKeyInfo = Static<typeof ApiKeyInfo>;

export const ApiKeyList = List(ApiKeyInfo);

/** A new API key: `key` (`sbk_…`) is shown this once. */
export const CreatedApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scope: Scope,
  key: Type.String({ description: '`sbk_…`, shown this once.' }),
  created_at: IsoTime(),
});
export type CreatedApiKey = Static<typeof CreatedApiKey>;
