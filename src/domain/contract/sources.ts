import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, List, Nullable, StringEnum } from './shared.js';

/** A source as listed: only a hint of its token (the database holds its digest). */
export const Source = Type.Object({
  id: Type.String({ description: '`src_…`' }),
  name: Type.String(),
  token_hint: Type.String(),
  status: StringEnum(['active', 'revoked']),
  created_at: IsoTime(),
  revoked_at: Nullable(IsoTime()),
  previous_token_expires_at: Nullable(IsoTime({ description: 'After a rotation, until when the previous token is still accepted.' })),
});
export type Source = Static<typeof Source>;

export const SourceList = List(Source);

const secrets = {
  token: Type.String({ description: 'The secret part of the ingest URL, shown this once.' }),
  ingest_url: Type.String({ description: 'The URL to paste into Convolo.' }),
};

/** A new source: its `token` and `ingest_url` are shown this once. */
export const CreatedSource = Type.Object({
  id: Type.String(),
  name: Type.String(),
  token: secrets.token,
  ingest_url: secrets.ingest_url,
  created_at: IsoTime(),
});
export type CreatedSource = Static<typeof CreatedSource>;

/** A rotated source: the new token and ingest URL (the old token works for 24 h). */
export const RotatedSource = Type.Object({ ...Source.properties, ...secrets });
export type RotatedSource = Static<typeof RotatedSource>;
