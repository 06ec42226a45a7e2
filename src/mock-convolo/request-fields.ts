/**
 * Gathers the fields of one call-API request from wherever Convolo accepts them: the query string (GET, and
 * POST too) and the body (JSON, as the docs say; form-encoded, as HTML forms and many no-code tools send).
 * Body fields come first, so a field given in both places takes the body's value (first wins downstream).
 */
import type { IncomingMessage } from 'node:http';
import { MockError } from './errors.js';

/** Convolo does not document a limit; a call request is a few hundred bytes. */
export const maxBodyBytes = 64 * 1024;

/**
 * The request's fields in order, or a MockError (invalid_json, payload_too_large, unsupported_media_type).
 *
 * @example
 * const fields = await readRequestFields(req, new URL(req.url!, 'http://localhost'));
 */
export async function readRequestFields(req: IncomingMessage, url: URL): Promise<Array<[string, unknown]>> {
  const fields: Array<[string, unknown]> = [];
  if (req.method === 'POST') fields.push(...parseBody(await readBody(req), req.headers['content-type']));
  fields.push(...url.searchParams);
  const header = req.headers['x-mock-outcome'];
  if (typeof header === 'string') fields.push(['mock_outcome', header]);
  return fields;
}

function parseBody(raw: Buffer, contentType: string | undefined): Array<[string, unknown]> {
  const media = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (media === 'application/x-www-form-urlencoded') return [...new URLSearchParams(raw.toString('utf8'))];
  if (media !== '' && media !== 'application/json' && media !== 'text/plain' && !media.endsWith('+json')) {
    throw new MockError('unsupported_media_type', { params: { media } });
  }
  const text = raw.toString('utf8');
  // An empty POST is allowed: everything may be in the query string, as with GET.
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MockError('invalid_json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MockError('json_not_object', { params: { what: Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}` } });
  }
  return Object.entries(value);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBodyBytes) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(): MockError {
  return new MockError('payload_too_large', { params: { kib: maxBodyBytes / 1024 } });
}
