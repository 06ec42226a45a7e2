import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { logIdPattern } from '../domain/ids.js';
import { newWebhookSecret, signatureHeaders } from '../relay/signing.js';

/**
 * What `switchboard listen` keeps on disk between runs: its cursor (the seq of the last event the local
 * app accepted), one file per stream it follows, and the local signing secret, one per directory so that
 * the secret configured in the local app stays valid across restarts and filter changes.
 */

/**
 * What identifies a followed stream: the same server and filters resume from the same cursor.
 *
 * @example
 * const stream: StreamIdentity = { from: 'https://sb.example.com', types: ['call.ended'] };
 */
export interface StreamIdentity {
  from: string;
  types: readonly string[];
  widgetKey?: string;
  sourceId?: string;
}

interface CursorFile {
  version: 1;
  from: string;
  types: string[];
  widget_key: string | null;
  source_id: string | null;
  /** The last event the local app answered 2xx to. */
  last_seq: number;
  /** The log `last_seq` is a seq of (the stream's Switchboard-Log-Id); null, or absent in a file of an earlier version: not known. */
  log_id?: string | null;
  updated_at: string;
}

/**
 * Where listen is: the last event forwarded, and the log it is of.
 *
 * @example
 * const cursor: Cursor = { lastSeq: 42, logId: 'log_0mxbyb4wlaFeGn1BQc4bp' };
 */
export interface Cursor {
  lastSeq: number;
  /** Null when not known (a file written before log ids, or before the server named its log). */
  logId: string | null;
}

/**
 * `./.switchboard/listen-<hash>.json`, the hash being of the server URL and the filters (never the key:
 * a new key for the same stream keeps the cursor).
 *
 * @example
 * defaultCursorPath({ from: 'https://sb.example.com', types: ['call.ended'] }, process.cwd());
 * // '/home/me/app/.switchboard/listen-3f9a1c0b7d2e.json'
 */
export function defaultCursorPath(stream: StreamIdentity, cwd: string): string {
  const identity = JSON.stringify([normalizeUrl(stream.from), [...stream.types].sort(), stream.widgetKey ?? null, stream.sourceId ?? null]);
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 12);
  return join(cwd, '.switchboard', `listen-${hash}.json`);
}

/**
 * The URL without a trailing slash, query or credentials: what names the server.
 *
 * @example
 * normalizeUrl('https://u:p@sb.example.com/?x=1'); // 'https://sb.example.com'
 */
export function normalizeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * The cursor (last seq and its log), or null when the file does not exist yet. A file that exists but cannot be
 * read is an error: starting over silently would replay or skip events.
 *
 * @example
 * const cursor = readCursor('.switchboard/listen-3f9a1c0b7d2e.json'); // { lastSeq: 42, logId: 'log_…' }, or null on a first run
 */
export function readCursor(path: string): Cursor | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let file: Partial<Record<keyof CursorFile, unknown>> | null;
  try {
    file = JSON.parse(text) as typeof file;
  } catch {
    file = null;
  }
  const seq = file?.last_seq;
  const logId = file?.log_id ?? null;
  // A log id the stream would refuse (400 at every start) is no more listen's than a torn seq.
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || (logId !== null && (typeof logId !== 'string' || !new RegExp(logIdPattern).test(logId)))) {
    throw new Error(`the cursor file ${path} is not one listen wrote: fix or delete it (deleting starts over, see --since)`);
  }
  return { lastSeq: seq, logId };
}

/**
 * Writes the cursor atomically (a temporary file renamed over it), so a kill mid-write leaves the previous
 * cursor, never a torn one.
 *
 * @example
 * writeCursor(path, { from: 'https://sb.example.com', types: [] }, 43, 'log_0mxbyb4wlaFeGn1BQc4bp');
 */
export function writeCursor(path: string, stream: StreamIdentity, lastSeq: number, logId: string | null): void {
  const content: CursorFile = {
    version: 1,
    from: normalizeUrl(stream.from),
    types: [...stream.types],
    widget_key: stream.widgetKey ?? null,
    source_id: stream.sourceId ?? null,
    last_seq: lastSeq,
    log_id: logId,
    updated_at: new Date().toISOString(),
  };
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(temporary, path);
}

/**
 * The local signing secret: `given` when set (checked), else the one stored in `listen-secret` next to the
 * cursor file, created on the first run (readable by its owner only).
 *
 * @example
 * const { secret, created } = localSecret(undefined, '.switchboard/listen-3f9a1c0b7d2e.json');
 */
export function localSecret(given: string | undefined, cursorPath: string): { secret: string; created: boolean } {
  if (given !== undefined) return { secret: checkedSecret(given, '--secret'), created: false };
  const path = join(dirname(cursorPath), 'listen-secret');
  try {
    return { secret: checkedSecret(readFileSync(path, 'utf8').trim(), path), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = newWebhookSecret();
  mkdirSync(dirname(path), { recursive: true });
  // wx: two listens starting at once must not each write their own secret; the loser reads the winner's.
  try {
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return localSecret(undefined, cursorPath);
    throw error;
  }
  return { secret, created: true };
}

/** A secret the signing library accepts (whsec_ and base64), checked now rather than at the first event. */
function checkedSecret(secret: string, where: string): string {
  try {
    if (!secret.startsWith('whsec_')) throw new Error('no whsec_ prefix');
    signatureHeaders({ id: 'check', timestampSec: 0, payload: '', secrets: [secret] });
    return secret;
  } catch {
    throw new Error(`the secret in ${where} is not a webhook secret: expected whsec_ followed by base64`);
  }
}
