import http, { type IncomingHttpHeaders } from 'node:http';

/** Test helpers for GET /v1/stream: a small SSE client of our own, and waiting for a condition. */
export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body of a response that is not a stream (an error). */
  body: string;
  events: SseEvent[];
  comments: string[];
  retry: number | null;
  /** Whether the connection has ended, either way. */
  ended: boolean;
  close(): void;
}

/** A small SSE client over node:http: one connection of its own, parsed as the SSE specification says. */
export function openStream(baseUrl: string, options: { key?: string | null; query?: string; headers?: Record<string, string> } = {}): Promise<SseClient> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  return new Promise((resolve, reject) => {
    const request = http.get(`${baseUrl}/v1/stream${options.query ? `?${options.query}` : ''}`, { headers, agent: false }, (response) => {
      const client: SseClient = {
        status: response.statusCode!,
        headers: response.headers,
        body: '',
        events: [],
        comments: [],
        retry: null,
        ended: false,
        close: () => request.destroy(),
      };
      let buffer = '';
      let pending: { id: string; event: string; data: string[] } = { id: '', event: '', data: [] };
      let lastId = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (client.status !== 200) {
          client.body += chunk;
          return;
        }
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const raw of lines) {
          const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
          if (line === '') {
            if (pending.data.length > 0) client.events.push({ id: lastId, event: pending.event || 'message', data: pending.data.join('\n') });
            pending = { id: '', event: '', data: [] };
          } else if (line.startsWith(':')) {
            client.comments.push(line.slice(1).trim());
          } else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') lastId = value;
            else if (field === 'event') pending.event = value;
            else if (field === 'data') pending.data.push(value);
            else if (field === 'retry') client.retry = Number(value);
          }
        }
      });
      const end = () => (client.ended = true);
      response.on('end', end);
      response.on('close', end);
      response.on('error', end);
      resolve(client);
    });
    request.on('error', reject);
  });
}

/** Polls until `condition` holds; fails with `what` after the deadline. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

