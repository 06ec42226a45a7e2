// The baseline for the stream-latency benchmark: the cost of SSE fan-out without storage.
// `GET` (any path) opens a Server-Sent Events stream; `POST` (any path) reads the body, parses it as JSON
// (as any real handler must, to know the event's type and call), makes it one frame shaped like
// Switchboard's (`id: <seq>`, `event: call.ended`, `data: <envelope>` with Convolo's body spliced verbatim,
// but no call record: nothing is stored, so there is none) and answers 200 {"ok":true,"id":"evt_<seq>"}.
// The frames made in one turn of the event loop go out together right after it (setImmediate), one write
// per stream: at 1,000 events/s that is one frame per write while the server keeps up, and fewer, larger
// writes when it falls behind, as Switchboard's frames come in commit batches. No auth, no database, no
// buffering limits.
//
// Usage: node bench/sse-baseline-server.mjs
// Listens on 127.0.0.1 on a port chosen by the OS and prints that port, alone on a line, on stdout.
// Exits 0 on SIGTERM or SIGINT.
import http from 'node:http';
import { serve } from './lib/serve.mjs';

const streams = new Set();
let seq = 0;
let pending = [];

function flush() {
  const chunk = pending.length === 1 ? pending[0] : pending.join('');
  pending = [];
  for (const s of streams) s.write(chunk);
}

function envelopeType(type) {
  if (type === 'start_call') return 'call.started';
  if (type === 'end_call') return 'call.ended';
  return `convolo.${type}`;
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    streams.add(res);
    res.on('close', () => streams.delete(res));
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let payload;
    try {
      payload = JSON.parse(text);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"invalid_json"}');
      return;
    }
    seq += 1;
    const id = `evt_${seq}`;
    const type = envelopeType(payload.type);
    const head = JSON.stringify({ id, type, created_at: new Date().toISOString(), source_id: 'src_baseline', call_id: payload.call_id ?? null });
    pending.push(`id: ${seq}\nevent: ${type}\ndata: ${head.slice(0, -1)},"data":${text},"call":null}\n\n`);
    if (pending.length === 1) setImmediate(flush);
    const answer = `{"ok":true,"id":"${id}"}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
  req.on('error', () => res.destroy());
});

serve(server);
