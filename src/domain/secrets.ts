import { hash, randomBytes } from 'node:crypto';

/**
 * Source tokens and API keys are 256-bit random secrets. They are stored only as SHA-256 digests: a fast
 * hash is right for high-entropy secrets (nothing to brute-force), and looking up by digest means the
 * cost of a lookup does not depend on how much of a guessed token matches a real one.
 */
export type SecretKind = 'source_token' | 'api_key';
const prefixes: Record<SecretKind, string> = { source_token: 'sbt_', api_key: 'sbk_' };

export function generateSecret(kind: SecretKind): string {
  return prefixes[kind] + randomBytes(32).toString('base64url');
}

/** The digest a secret is stored and looked up by (crypto.hash: one call, no Hash object; every ingest request takes one). */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** What may be shown of a secret in logs and listings: its prefix and first four characters. */
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '…' : `${secret.slice(0, 8)}…`;
}
