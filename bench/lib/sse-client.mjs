// Server-Sent Events clients for the relay benchmark: plain node:http GETs, each on its own connection,
// with a frame parser of their own (no EventSource library between the socket and the clock).
//
// The parser follows the SSE text format as far as the benchmark needs it: lines end with "\n" or "\r\n",
// a blank line ends a frame, `id:`, `event:` and `data:` fields (several `data:` lines are joined with "\n"),
// a line starting with ":" is a comment, one space after the colon is dropped. Bytes are read as latin1:
// every field name and every number the benchmark looks for is ASCII, and latin1 decoding costs nothing;
// `utf8Text()` turns a frame's data back into its real text when a caller wants to parse it.
import http from 'node:http';

/** The wall clock in ms with sub-ms resolution, comparable across threads and processes of one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

export class SseParser {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.rest = '';
    this.reset();
    this.comments = 0;
  }

  reset() {
    this.id = null;
    this.event = null;
    this.data = null;
  }

  /** Feed one chunk (a latin1 string); calls onFrame({ id, event, data }) for each frame it completes. */
  push(chunk) {
    const text = this.rest === '' ? chunk : this.rest + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.line(text, start, end);
      start = nl + 1;
    }
    this.rest = start === 0 ? text : text.slice(start);
  }

  line(text, start, end) {
    if (start === end) {
      if (this.data !== null) this.onFrame({ id: this.id, event: this.event, data: this.data });
      this.reset();
      return;
    }
    if (text.charCodeAt(start) === 58 /* : */) {
      this.comments += 1;
      return;
    }
    let colon = text.indexOf(':', start);
    if (colon < 0 || colon > end) colon = end;
    const length = colon - start;
    let valueStart = colon + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === 32) valueStart += 1;
    const value = () => (valueStart < end ? text.slice(valueStart, end) : '');
    // Field names compared in place: this runs for every line of ~100k frames a second.
    if (length === 4 && text.startsWith('data', start)) this.data = this.data === null ? value() : `${this.data}\n${value()}`;
    else if (length === 2 && text.startsWith('id', start)) this.id = value();
    else if (length === 5 && text.startsWith('event', start)) this.event = value();
    // `retry:` and unknown fields: ignored, as the format says
  }
}

/** A frame's data (parsed as latin1) as the UTF-8 text it was sent as. */
export function utf8Text(latin1) {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/**
 * Opens `count` stream clients on `url`, each on its own connection. `onFrame(client, frame, receivedAtMs)`
 * gets every frame, with the time its last chunk was read. Resolves once every client has its 200 and
 * headers, or rejects with what the first failing client got. `close()` ends every connection.
 * Each client keeps { index, frames, comments, bytes, status, closedEarly, error }.
 */
export async function openStreamClients({ url, headers = {}, count, onFrame, timeoutMs = 10_000 }) {
  const clients = [];
  let closing = false;
  const opened = [];
  for (let index = 0; index < count; index++) {
    const client = { index, frames: 0, comments: 0, bytes: 0, status: null, closedEarly: false, error: null, req: null };
    clients.push(client);
    opened.push(
      new Promise((resolve, reject) => {
        const req = http.get(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } });
        client.req = req;
        const timer = setTimeout(() => req.destroy(new Error(`no stream headers within ${timeoutMs} ms`)), timeoutMs);
        req.on('response', (res) => {
          clearTimeout(timer);
          client.status = res.statusCode;
          const type = String(res.headers['content-type'] ?? '');
          if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => (body += c.length < 500 ? c : c.slice(0, 500)));
            res.on('end', () => reject(new Error(`GET ${new URL(url).pathname} answered ${res.statusCode} ${type}: ${body.slice(0, 300)}`)));
            return;
          }
          const parser = new SseParser((frame) => {
            client.frames += 1;
            onFrame(client, frame, parser.receivedAt);
          });
          res.setEncoding('latin1');
          res.on('data', (chunk) => {
            parser.receivedAt = nowMs();
            client.bytes += chunk.length;
            parser.push(chunk);
            client.comments = parser.comments;
          });
          res.on('close', () => {
            if (!closing) client.closedEarly = true;
          });
          res.on('error', (err) => {
            if (!closing) client.error = err.message;
          });
          resolve();
        });
        req.on('error', (err) => {
          clearTimeout(timer);
          if (!closing) client.error = err.message;
          reject(err);
        });
      }),
    );
  }
  const close = () => {
    closing = true;
    for (const c of clients) c.req?.destroy();
  };
  try {
    await Promise.all(opened);
  } catch (err) {
    close();
    throw err;
  }
  return { clients, close };
}
