import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook a receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** Parsed envelope. */
  json: any;
  /** Answered with this status. */
  status: number;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** Sends the status and `body`, then closes the connection short of the length it announced. */
  cutBody?: boolean;
  /** Answers once this settles (the test holds the attempt open meanwhile). */
  hold?: Promise<unknown>;
}

/**
 * A real HTTP server on loopback standing in for the user's backend: records every webhook it gets and
 * answers what `answer` says (200 by default). `answer` can be replaced while it runs.
 */
export async function startReceiver(answer: (request: { json: any; index: number }) => Answer = () => ({ status: 200 })) {
  const received: Received[] = [];
  let respond = answer;
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: any = null;
      try {
        json = JSON.parse(body);
      } catch {
        // recorded as is
      }
      const at = Date.now();
      const a = respond({ json, index: received.length });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const finish = () => {
        inFlight--;
        received.push({ headers: req.headers, body, json, status: a.status, at });
        if (!a.cutBody) return void res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
        res.writeHead(a.status, { ...a.headers, 'content-length': String(Buffer.byteLength(a.body ?? '') + 100) });
        res.write(a.body ?? '', () => res.socket?.destroy());
      };
      if (a.hold) void a.hold.then(finish, finish);
      else if (a.delayMs) setTimeout(finish, a.delayMs);
      else finish();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    get maxInFlight() {
      return maxInFlight;
    },
    answer(next: typeof answer) {
      respond = next;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
