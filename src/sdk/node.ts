// Type-only: this module must load in bundles for runtimes without node:http.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** @example toNodeListener(handle, { maxBodyBytes: 1024 * 1024 }); */
export interface NodeListenerOptions {
  /** A larger body is answered 413 without being read to the end (default 8 MiB). */
  maxBodyBytes?: number;
}

// An envelope holds Convolo's body (Switchboard accepts up to 1 MiB by default) and the call record, which
// repeats the lead: 8 MiB leaves room for a server with a raised limit.
const defaultMaxBodyBytes = 8 * 1024 * 1024;

/**
 * Adapts a web `(Request) => Promise<Response>` handler, such as `createHandler`'s, to `node:http`,
 * Express or any framework that hands over Node's `req` and `res`. The body is collected as raw bytes, up
 * to `maxBodyBytes`; after `express.raw()` it takes `req.body`. After a JSON body parser the signed bytes
 * are gone: it answers 500 and says so.
 *
 * @example
 * import { createServer } from 'node:http';
 * createServer(toNodeListener(createHandler({ 'call.ended': (e) => console.log(e.call.status) }, { secret }))).listen(3000);
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>, options: NodeListenerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.maxBodyBytes ?? defaultMaxBodyBytes;
  return (req, res) => {
    void serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal_error"}');
    });
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, limit);
    if (body === 'already_parsed') {
      // The sender is not at fault: a 5xx keeps the event coming back until the app is fixed.
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'body_already_parsed', message: alreadyParsed }));
      return;
    }
    if (body === 'too_large') {
      // Answer at once and close the connection after the answer rather than read the rest.
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: 'body_too_large', message: `The body is larger than ${limit} bytes.` }));
      return;
    }
    const response = await handler(toRequest(req, body));
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => (headers[key] = value));
    res.writeHead(response.status, headers);
    res.end(Buffer.from(await response.arrayBuffer()));
  }
}

const alreadyParsed =
  'A body parser read the request before toNodeListener, so the signed bytes are gone: mount the webhook route before express.json(), or give it express.raw({ type: "application/json" }).';

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large' | 'already_parsed'> {
  if (req.readableEnded) {
    // A body parser got there first; express.raw() and express.text() leave the bytes or text in req.body.
    const body = (req as IncomingMessage & { body?: unknown }).body;
    if (typeof body === 'string' || body instanceof Uint8Array) return Promise.resolve(Buffer.from(body));
    return Promise.resolve('already_parsed');
  }
  if (Number(req.headers['content-length']) > limit) return Promise.resolve('too_large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size > limit) resolve('too_large');
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function toRequest(req: IncomingMessage, body: Buffer): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(urlOf(req), { method, headers, body: hasBody ? body : null });
}

function urlOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`).href;
  } catch {
    // A malformed Host header must not stop a webhook from being verified.
    return new URL(req.url ?? '/', 'http://localhost').href;
  }
}
